/**
 * `outpost relay --check-config`: 0 with a plain "config ok" line, 2 naming what is wrong (a
 * missing folder, an unreadable signing key, a tests file that does not parse); nothing starts.
 * And `relay --tests` with a tests file that does not parse refuses to start (exit 2).
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../cli/run-cli.ts';
import { generateSigningKeyPair } from '../../../src/platform/signing.ts';

let dir: string;
const run = (...argv: string[]) => runCli(['relay', ...argv], {});
let base: string[];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'outpost-relaycheck-'));
  await mkdir(join(dir, 'policy'));
  const keys = generateSigningKeyPair();
  await writeFile(join(dir, 'relay.key'), keys.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, { mode: 0o600 });
  await writeFile(join(dir, 'tests.yaml'), 'tests:\n  - name: web\n    from: 198.18.0.5\n    to: 198.18.1.1\n    port: 443/tcp\n    expect: allow\n');
  await writeFile(join(dir, 'bad-tests.yaml'), 'tests:\n  - name: web\n    from: 198.18.0.5\n    to: not-an-ip\n    port: 443/tcp\n    expect: maybe\n');
  base = ['--resources', join(dir, 'policy'), '--listen', '127.0.0.1:0', '--insecure', '--signing-key', join(dir, 'relay.key'), '--metrics-listen', 'off'];
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('relay --check-config', () => {
  test('a good configuration: exit 0 and one plain line', async () => {
    const r = await run(...base, '--tests', join(dir, 'tests.yaml'), '--check-config');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toBe(`config ok: resources ${join(dir, 'policy')}, embedded broker on 127.0.0.1:0 (insecure), topic prefix outpost/v1, 1 policy test\n`);
  });

  test('a resources folder that does not exist: exit 2 naming the setting and the path', async () => {
    const r = await run(...base.map((a) => (a === join(dir, 'policy') ? join(dir, 'polcy') : a)), '--check-config');
    expect(r.code).toBe(2);
    expect(r.err).toContain(`resources: ${join(dir, 'polcy')} does not exist`);
  });

  test('a signing key that is not a key: exit 2', async () => {
    await writeFile(join(dir, 'junk.key'), 'not a key\n', { mode: 0o600 });
    const r = await run(...base.map((a) => (a === join(dir, 'relay.key') ? join(dir, 'junk.key') : a)), '--check-config');
    expect(r.code).toBe(2);
    expect(r.err).toContain('junk.key');
  });

  test('a tests file that does not parse: exit 2 naming the test and field', async () => {
    const r = await run(...base, '--tests', join(dir, 'bad-tests.yaml'), '--check-config');
    expect(r.code).toBe(2);
    expect(r.err).toContain('bad-tests.yaml');
    expect(r.err).toContain('("web")');
    expect(r.out).toBe('');
  });

  test('a missing tests file: exit 2 naming it', async () => {
    const r = await run(...base, '--tests', join(dir, 'nope.yaml'), '--check-config');
    expect(r.code).toBe(2);
    expect(r.err).toContain(`tests: ${join(dir, 'nope.yaml')} does not exist`);
  });
});

test('relay --tests with a tests file that does not parse refuses to start (exit 2), before listening', async () => {
  const r = await run(...base, '--tests', join(dir, 'bad-tests.yaml'));
  expect(r.code).toBe(2);
  expect(r.err).toContain('tests: ');
  expect(r.err).toContain('bad-tests.yaml');
});
