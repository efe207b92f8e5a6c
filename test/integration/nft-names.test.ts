/**
 * Interface names from the host reach nft as exactly one interface. Real interfaces named
 * `eth*` and `@evil` (the kernel allows both) in a lab namespace, the rendered ruleset applied
 * with the real nft: it applies (one `@evil` must not fail the whole transaction) and the
 * kernel compares the whole name `eth*` (escaped), never the prefix `eth`.
 * Fails on the renderer before the fix: `"eth*"` was rendered bare (a wildcard) and `"@evil"`
 * made nft look for a set named `evil` ("No such file or directory").
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lab } from '../lab/lab.ts';
import { computeNodePlan } from '../../src/calc/node-plan.ts';
import { resolveDispatch } from '../../src/calc/dispatch.ts';
import { renderRuleset } from '../../src/render/ruleset.ts';
import { resources } from '../unit/calc/helpers.ts';
import { isRoot } from './harness.ts';

const RES = `
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: star}
spec: {node: h, expectedIPs: [198.18.9.1]}
---
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: evil}
spec: {node: h, expectedIPs: [198.18.9.5]}
---
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: wild}
spec: {node: h, interfaceName: "*", profiles: [projectcalico-default-allow]}
`;

describe.skipIf(!isRoot)('interface names reach nft literally', () => {
  let lab: Lab;
  let dir: string;
  beforeAll(async () => {
    lab = await Lab.create();
    await lab.addHost('h');
    dir = await mkdtemp(join(tmpdir(), 'outpost-names-'));
  });
  afterAll(async () => {
    await lab?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('`eth*` is matched as the whole name and `@evil` does not fail the apply', async () => {
    for (const [name, peer, addr] of [['eth*', 'p1', '198.18.9.1/30'], ['@evil', 'p2', '198.18.9.5/30']] as const) {
      await lab.exec('h', ['ip', 'link', 'add', 'name', name, 'type', 'veth', 'peer', 'name', peer]);
      await lab.exec('h', ['ip', 'addr', 'add', addr, 'dev', name]);
    }
    const { plan } = computeNodePlan({ node: 'h', resources: resources(RES) });
    const r = renderRuleset(plan, resolveDispatch(plan.endpoints, [
      { name: 'eth*', addresses: ['198.18.9.1'] },
      { name: '@evil', addresses: ['198.18.9.5'] },
    ]));
    expect(r.unnameable.join('\n')).toContain('@evil');
    const file = join(dir, 'ruleset.json');
    await writeFile(file, JSON.stringify(r.document));
    const applied = await lab.exec('h', ['nft', '-j', '-f', file], { reject: false });
    expect(applied.stderr).toBe('');
    expect(applied.exitCode).toBe(0);
    const listed = (await lab.exec('h', ['nft', 'list', 'chain', 'inet', 'outpost', 'd-fh'])).stdout;
    expect(listed).toContain('iifname "eth\\*" counter');
    expect(listed).not.toContain('iifname "eth*"');
    // The bytecode compares all 16 bytes ("eth*" and NULs), not a 3-byte prefix.
    const bytecode = (await lab.exec('h', ['nft', '--debug=netlink', 'list', 'chain', 'inet', 'outpost', 'd-fh'])).stdout;
    expect(bytecode).toContain('cmp eq reg 1 0x2a687465 0x00000000 0x00000000 0x00000000');
  });
});
