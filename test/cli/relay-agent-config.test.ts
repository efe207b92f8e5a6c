/** Relay and agent start-up refusals: each names the setting and exits 2 before touching anything. */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './run-cli.ts';

let dir: string;
const run = (env: Record<string, string>, ...argv: string[]) => runCli(argv, env);

describe('relay and agent configuration', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'outpost-cfg-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('agent: a broker without a trust key is refused', async () => {
    const r = await run({}, 'agent', '--node', 'gw', '--broker', 'mqtt://198.18.4.2:1883', '--state', dir);
    expect(r.code).toBe(2);
    expect(r.err).toContain('trustKey');
  });

  test('agent --check-config: a good config says what it would run and exits 0; a bad one exits 2 naming the problem', async () => {
    const { code: ok, out } = await run({}, 'agent', '--check-config', '--config', '/dev/null', '--node', 'gw', '--resources', dir, '--state', dir);
    expect(ok).toBe(0);
    expect(out).toContain(`config ok: node gw, local mode, resources ${dir}`);
    const none = await run({}, 'agent', '--check-config', '--config', '/dev/null', '--node', 'gw');
    expect(none.code).toBe(2);
    expect(none.err).toContain('a source of policy is required');
    await writeFile(join(dir, 'private.pub'), '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n');
    const key = await run({}, 'agent', '--check-config', '--config', '/dev/null', '--node', 'gw', '--broker', 'mqtt://198.18.4.2:1883', '--trust-key', join(dir, 'private.pub'));
    expect(key.code).toBe(2);
    expect(key.err).toContain('PRIVATE key');
  });

  test('agent: a trust key that is not a key is refused with the file named', async () => {
    await writeFile(join(dir, 'bad.pub'), 'not a key\n');
    const r = await run({}, 'agent', '--node', 'gw', '--broker', 'mqtt://198.18.4.2:1883', '--trust-key', join(dir, 'bad.pub'), '--state', dir);
    expect(r.code).toBe(2);
    expect(r.err).toContain(join(dir, 'bad.pub'));
  });

  test('agent: settings come from the environment too, and a typo in the config file is named', async () => {
    await writeFile(join(dir, 'agent.yaml'), 'node: gw\nbrokr: mqtt://198.18.4.2:1883\n');
    const r = await run({ OUTPOST_CONFIG: join(dir, 'agent.yaml'), OUTPOST_RESOURCES: dir }, 'agent');
    expect(r.code).toBe(2);
    expect(r.err).toContain('brokr');
  });

  test('relay: exactly one datastore and one broker, and a signing key that loads', async () => {
    expect((await run({}, 'relay', '--signing-key', 'x', '--listen', '127.0.0.1:1883')).err).toContain('exactly one datastore');
    const both = await run({ OUTPOST_LISTEN: '127.0.0.1:1883' }, 'relay', '--resources', dir, '--broker', 'mqtt://127.0.0.1:1883', '--signing-key', 'x');
    expect(both.code).toBe(2);
    expect(both.err).toContain('exactly one of broker');
    const missing = await run({}, 'relay', '--resources', dir, '--listen', '127.0.0.1:1883', '--insecure', '--signing-key', join(dir, 'nope.key'));
    expect(missing.code).toBe(2);
    expect(missing.err).toContain(join(dir, 'nope.key'));
  });
});
