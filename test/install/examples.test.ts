/**
 * The example manifests shipped in every tarball and .deb (examples/, installed under
 * /usr/share/doc/outpost/examples): every manifest validates with no problem, the first-host set
 * renders a ruleset for its node, and the policy tests in tests.yaml pass against it.
 */
import { describe, expect, test } from 'bun:test';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { EXAMPLES, ROOT } from '../../scripts/package/layout.ts';
import { run } from './support.ts';

const outpost = (...args: string[]) => run([process.execPath, join(ROOT, 'src/main.ts'), ...args], { cwd: ROOT });
const rel = (p: string) => relative(ROOT, p);

/** Every YAML file under examples/ that holds Calico manifests (tests.yaml holds policy tests). */
const MANIFESTS = readdirSync(EXAMPLES, { recursive: true, withFileTypes: true })
  .filter((e) => e.isFile() && e.name.endsWith('.yaml') && e.name !== 'tests.yaml')
  .map((e) => join(e.parentPath, e.name))
  .sort();

describe('examples/', () => {
  test('holds the first-host set, a tier, a staged policy and policy tests', () => {
    expect(MANIFESTS.map(rel)).toEqual([
      'examples/first-host/failsafes.yaml', 'examples/first-host/host-endpoint.yaml', 'examples/first-host/policies.yaml',
      'examples/staged-policy.yaml', 'examples/tiers.yaml',
    ]);
  });

  for (const file of MANIFESTS) {
    test(`${rel(file)} validates with no problem and no warning (no kind skipped)`, async () => {
      const r = await outpost('validate', '-f', rel(file));
      expect({ exitCode: r.exitCode, stderr: r.stderr }).toEqual({ exitCode: 0, stderr: '' });
      expect(r.stdout).toMatch(/^[1-9]\d* valid resource\(s\), 0 problem\(s\)$/m);
    });
  }

  test('tests.yaml passes against first-host with the tier, and catches the tier missing', async () => {
    const pass = await outpost('test', '-f', 'examples/tests.yaml', '--resources', 'examples/first-host', '--resources', 'examples/tiers.yaml');
    expect(pass.exitCode, pass.stdout + pass.stderr).toBe(0);
    expect(pass.stdout).toContain('6 passed, 0 failed');
    const noTier = await outpost('test', '-f', 'examples/tests.yaml', '--resources', 'examples/first-host');
    expect(noTier.exitCode).toBe(1);
    expect(noTier.stdout).toContain('FAIL the blocklisted network cannot reach the web server');
    expect(noTier.stdout).toContain('5 passed, 1 failed');
  });

  test('first-host with the tier renders a ruleset for node gw1 that governs eth0', async () => {
    const r = await outpost('render', '--node', 'gw1', '--resources', 'examples/first-host', '--resources', 'examples/tiers.yaml');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('"eth0"');
    expect(r.stdout).toContain('198.51.100.0');
  });
});
