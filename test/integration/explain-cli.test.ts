/**
 * `outpost explain` as an operator runs it on a protected host: the real CLI inside gw's
 * namespace, reading a real agent's config and state dir (local mode, and an air-gapped agent
 * holding a signed snapshot in its cache), its verdict compared with real packets.
 * Also `outpost test` (pass, fail, bad file) and `outpost diff` against a real etcd.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { EnforcementHarness, MAIN, isRoot, tcp, icmp, type Flow } from './harness.ts';
import { gnp, hep } from './fixtures.ts';
import { startEtcd, type LabEtcd } from '../lab/etcd.ts';

const GW1 = '198.18.1.1';
const C1 = '198.18.1.2';
const BEHIND = '198.18.3.2';

const FILES = {
  'heps.yaml': hep('gw-eth1', { iface: 'eth1' }) + hep('gw-eth3', { iface: 'eth3', profiles: ['projectcalico-default-allow'] }),
  'web.yaml': gnp('allow-web', `
selector: host == 'gw'
ingress:
- action: Allow
  protocol: TCP
  destination: {ports: [443]}
- action: Allow
  protocol: ICMP
egress:
- action: Allow
`) + gnp('fwd', `
selector: host == 'gw'
applyOnForward: true
ingress:
- action: Allow
  protocol: TCP
  destination: {ports: [80]}
egress:
- action: Allow
`),
};

/** Each flow as explain flags: the packet as it meets gw. */
const CASES: { flow: Flow; flags: string[] }[] = [
  { flow: tcp('c1', GW1, 443, true), flags: ['--iface', 'eth1', '--in', '--from', C1, '--to', GW1, '--to-port', '443/tcp'] },
  { flow: tcp('c1', GW1, 8080, false), flags: ['--iface', 'eth1', '--in', '--from', C1, '--to', GW1, '--to-port', '8080/tcp'] },
  { flow: icmp('c1', GW1, true), flags: ['--iface', 'eth1', '--in', '--from', C1, '--to', GW1, '--proto', 'icmp'] },
  { flow: tcp('c1', BEHIND, 80, true), flags: ['--iface', 'eth1', '--forward', '--out-iface', 'eth3', '--from', C1, '--to', BEHIND, '--to-port', '80/tcp'] },
  { flow: tcp('c1', BEHIND, 443, false), flags: ['--iface', 'eth1', '--forward', '--out-iface', 'eth3', '--from', C1, '--to', BEHIND, '--to-port', '443/tcp'] },
];

const cli = (args: string[], input?: string) => execa(process.execPath, [MAIN, ...args], { reject: false, ...(input !== undefined ? { input } : { stdin: 'ignore' as const }) });

describe.skipIf(!isRoot)('outpost explain on a host (real agent state, real packets)', () => {
  let h: EnforcementHarness;
  beforeAll(async () => {
    h = await EnforcementHarness.create();
  }, 60_000);
  afterAll(async () => {
    await h?.destroy();
  });

  async function explainInGw(config: string, flags: string[]) {
    const r = await h.s.lab.exec('gw', [process.execPath, MAIN, 'explain', '--config', config, ...flags], { reject: false });
    return { code: r.exitCode, lines: r.stdout.split('\n'), err: r.stderr };
  }

  async function verdictsMatchPackets(config: string, source: RegExp): Promise<void> {
    expect(await h.mismatches(CASES.map((c) => c.flow))).toEqual([]);
    for (const c of CASES) {
      const r = await explainInGw(config, c.flags);
      expect({ flow: c.flags.join(' '), code: r.code, err: r.err }).toEqual({ flow: c.flags.join(' '), code: 0, err: '' });
      expect({ flow: c.flags.join(' '), verdict: r.lines[0] }).toEqual({ flow: c.flags.join(' '), verdict: c.flow.allowed ? 'allow' : 'deny' });
      expect(r.lines.at(-1)).toMatch(source);
    }
  }

  test('local mode: the agent\'s config and state dir; the verdict is the packet\'s fate', async () => {
    await h.reset();
    await h.writeResources(FILES);
    const config = join(h.dir, '..', 'agent.yaml');
    await writeFile(config, `node: gw\nresources: [${h.dir}]\nstate: ${h.state}\n`);
    const r = await h.s.lab.exec('gw', [process.execPath, MAIN, 'agent', '--config', config, '--once'], { reject: false, timeoutMs: 30_000 });
    expect(r.exitCode).toBe(0);
    await verdictsMatchPackets(config, /^plan: local mode: node gw computed from .* live interfaces of this host$/);
    // The deny names the end of the tier; JSON carries the same steps.
    const deny = await explainInGw(config, CASES[1]!.flags);
    expect(deny.lines.join('\n')).toContain('end of tier default: no policy allowed or passed it: dropped');
    const json = await explainInGw(config, [...CASES[0]!.flags, '-o', 'json']);
    expect(JSON.parse(json.lines.join('\n'))).toMatchObject({ verdict: 'allow', steps: expect.arrayContaining([expect.objectContaining({ kind: 'rule', policy: 'default/allow-web', rule: 0 })]) });
  }, 120_000);

  test('signed snapshot mode: explain reads the verified snapshot the agent cached', async () => {
    await h.reset();
    const base = join(h.dir, '..', 'bundle');
    const drop = join(base, 'drop');
    await mkdir(drop, { recursive: true });
    await writeFile(join(h.dir, 'heps.yaml'), FILES['heps.yaml']);
    await writeFile(join(h.dir, 'web.yaml'), FILES['web.yaml']);
    expect((await cli(['keygen', '--out', join(base, 'relay')])).exitCode).toBe(0);
    const exp = await cli(['bundle', 'export', '--resources', h.dir, '--node', 'gw', '--signing-key', join(base, 'relay.key'), '--out', join(drop, 'gw.bundle')]);
    expect(exp.stderr).toBe('');
    const state = join(base, 'state');
    const config = join(base, 'agent.yaml');
    await writeFile(config, `node: gw\nbundleDir: ${drop}\ntrustKey: ${join(base, 'relay.pub')}\nstate: ${state}\n`);
    const agent = h.s.lab.spawn('gw', [process.execPath, MAIN, 'agent', '--config', config]);
    try {
      await agent.waitFor(/ruleset in force/, 30_000);
      // The resources folder is gone from explain's view: only the cache can answer now.
      await writeFile(join(h.dir, 'web.yaml'), '');
      await verdictsMatchPackets(config, /^plan: cached snapshot: node gw, revision \d+, sha256:[0-9a-f]{64}, stored .*; live interfaces of this host$/);
      // A wrong trust key: the cache is refused, never used unverified.
      const other = join(base, 'other');
      await cli(['keygen', '--out', other]);
      const bad = join(base, 'bad.yaml');
      await writeFile(bad, `node: gw\nbundleDir: ${drop}\ntrustKey: ${other}.pub\nstate: ${state}\n`);
      const refused = await explainInGw(bad, CASES[0]!.flags);
      expect(refused.code).toBe(1);
      expect(refused.err).toContain('the cached snapshot is refused');
    } finally {
      await agent.stop(2000);
    }
  }, 120_000);
});

describe('outpost test and outpost diff (real CLI)', () => {
  let etcd: LabEtcd;
  let dir: string;
  beforeAll(async () => {
    etcd = await startEtcd();
    dir = (await execa('mktemp', ['-d'])).stdout;
    await mkdir(join(dir, 'res'));
    await writeFile(join(dir, 'res', 'heps.yaml'), FILES['heps.yaml'].replace('  profiles: []\n', `  profiles: []\n  expectedIPs: ["${GW1}"]\n`));
    await writeFile(join(dir, 'res', 'web.yaml'), FILES['web.yaml']);
  }, 60_000);
  afterAll(async () => {
    await etcd?.destroy();
    if (dir) await execa('rm', ['-rf', dir]);
  });

  const TESTS = `tests:
  - {name: web, from: ${C1}, to: ${GW1}, port: 443/tcp, expect: allow}
  - {name: no admin port, node: gw, iface: eth1, from: ${C1}, to: ${GW1}, port: 8080/tcp, expect: deny}
`;

  test('test: all pass -> 0; a failing test -> 1 with its steps; a bad file -> 2 naming index and field', async () => {
    const ok = await cli(['test', '-f', '-', '--resources', join(dir, 'res')], TESTS);
    expect(ok.exitCode).toBe(0);
    expect(ok.stdout).toContain(`PASS web on gw eth1: in ${C1} -> ${GW1} 443/tcp: allow (node gw chosen: its HostEndpoint gw-eth1 has expectedIPs containing ${GW1})`);
    expect(ok.stdout).toContain('2 passed, 0 failed');
    const fail = await cli(['test', '-f', '-', '--resources', join(dir, 'res')], TESTS.replace('8080/tcp, expect: deny', '8080/tcp, expect: allow'));
    expect(fail.exitCode).toBe(1);
    expect(fail.stdout).toContain('FAIL no admin port on gw eth1');
    expect(fail.stdout).toContain('end of tier default');
    const bad = await cli(['test', '-f', '-', '--resources', join(dir, 'res')], TESTS.replace('port: 443/tcp', 'prot: 443/tcp'));
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('tests[0].prot ("web"): unknown field "prot"');
  }, 60_000);

  test('diff against etcd: per node, the changed rule and the set members; nothing written', async () => {
    const env = { ...process.env, OUTPOST_ETCD_ENDPOINTS: etcd.url };
    const created = await execa(process.execPath, [MAIN, 'create', '-f', join(dir, 'res', 'heps.yaml')], { env, reject: false });
    expect(created.exitCode).toBe(0);
    await execa(process.execPath, [MAIN, 'create', '-f', join(dir, 'res', 'web.yaml')], { env });
    const change = join(dir, 'change.yaml');
    await writeFile(change, gnp('allow-web', `
selector: host == 'gw'
ingress:
- action: Allow
  protocol: TCP
  source: {selector: role == 'office'}
  destination: {ports: [443]}
egress:
- action: Allow
`) + `apiVersion: projectcalico.org/v3
kind: GlobalNetworkSet
metadata: {name: office, labels: {role: office}}
spec: {nets: [198.18.0.0/24]}
`);
    const before = await etcd.revision();
    const d = await cli(['diff', '-f', change, '--etcd', etcd.url]);
    expect(d.exitCode).toBe(0);
    expect(d.stdout).toMatch(/^node gw:\n {2}policy default\/allow-web: changed \(ingress rule 0 changed; ingress rule 1 removed\)\n {2}set s-\S+ \(role == "office"\): \+198\.18\.0\.0\/24\n1 of 1 node\(s\) change \(etcd /);
    expect(await etcd.revision()).toBe(before);
    const del = await cli(['diff', '--delete', 'GlobalNetworkPolicy/fwd', '--etcd', etcd.url, '-o', 'json']);
    expect(JSON.parse(del.stdout).nodes[0].changes).toContain('policy default/fwd: removed');
    const typo = await cli(['diff', '--delete', 'GlobalNetworkPolicy/fwdd', '--etcd', etcd.url]);
    expect(typo.exitCode).toBe(2);
    expect(typo.stderr).toContain('no such resource');
  }, 60_000);
});
