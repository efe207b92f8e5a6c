/** `outpost validate` on strict manifests: typos refused, Calico kinds skipped with a warning, warnings do not fail. */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './run-cli.ts';

let dir: string;

const run = (...argv: string[]) => runCli(argv);

const TYPO = `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: allow-web}
spec:
  selector: all()
  ingres: [{action: Allow}]
`;

const MIXED = `apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: np, namespace: prod}
spec: {selector: all()}
---
apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: pool1}
spec: {cidr: 10.0.0.0/16}
---
apiVersion: projectcalico.org/v3
kind: FelixConfiguration
metadata: {name: default}
spec: {bpfEnabled: false, ipv6Support: true}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: web}
spec:
  Selector: all()
  ingress: [{action: Allow, http: {methods: [GET]}}]
`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'outpost-strict-'));
  await mkdir(join(dir, 'typo'));
  await mkdir(join(dir, 'mixed'));
  await writeFile(join(dir, 'typo', 'web.yaml'), TYPO);
  await writeFile(join(dir, 'mixed', 'site.yaml'), MIXED);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('outpost validate, strict manifests', () => {
  test('an unknown field is refused with the nearest field name; exit 1', async () => {
    const r = await run('validate', '-f', join(dir, 'typo'));
    expect(r.code).toBe(1);
    expect(r.err).toContain(`${join(dir, 'typo', 'web.yaml')}: GlobalNetworkPolicy 'allow-web': spec.ingres: unknown field; did you mean \`ingress\`?`);
    expect(r.out).toContain('0 valid resource(s), 1 problem(s)');
  });

  test('skipped Calico kinds, unimplemented Felix fields and HTTP matches are warnings; exit 0', async () => {
    const file = join(dir, 'mixed', 'site.yaml');
    const r = await run('validate', '-f', join(dir, 'mixed'));
    expect(r.code).toBe(0);
    const warnings = r.err.split('\n').filter((l) => l.startsWith('warning: '));
    expect(warnings).toEqual([
      `warning: ${file}: skipped NetworkPolicy 'prod/np', IPPool 'pool1': outpost does not use these Calico kinds (they never govern a host)`,
      `warning: ${file}: FelixConfiguration 'default': spec.bpfEnabled: not implemented by outpost; it has no effect`,
      `warning: ${file}: GlobalNetworkPolicy 'web': spec.ingress[0].http: an HTTP match has no effect on a host (Calico applies it only to workloads with application-layer policy); the rule is enforced without it`,
    ]);
    expect(r.out).toContain('2 valid resource(s), 0 problem(s), 3 warning(s)');
  });
});
