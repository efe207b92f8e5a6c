/**
 * Configuration errors are sentences naming the setting, the value, what is allowed and where
 * the value came from (config file, environment variable or flag); `--check-config` also checks
 * that the files and folders the configuration names are there.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './run-cli.ts';
import { pathProblems } from '../../src/config/path-checks.ts';
import type { Setting } from '../../src/config/settings.ts';

let dir: string;
const run = (env: Record<string, string>, ...argv: string[]) => runCli(argv, env);
/** An agent in local mode that would start, plus whatever a test adds. */
const agent = (env: Record<string, string>, ...argv: string[]) => run(env, 'agent', '--check-config', '--node', 'gw', '--state', join(dir, 'state'), ...argv);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'outpost-cfgerr-'));
  await mkdir(join(dir, 'policy'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('configuration errors', () => {
  test('an unknown key in the config file names the file and suggests the setting meant', async () => {
    const file = join(dir, 'agent.yaml');
    await writeFile(file, `node: gw\nloglevel: debug\nresources: [${join(dir, 'policy')}]\n`);
    const r = await run({}, 'agent', '--check-config', '--config', file);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${file}: unknown setting "loglevel"; did you mean "logLevel"?`);
    expect(r.err).not.toContain('Expected never');
  });

  test('an unknown key with nothing near lists the settings there are', async () => {
    const file = join(dir, 'far.yaml');
    await writeFile(file, `node: gw\nresources: [${join(dir, 'policy')}]\nzzzzzz: 1\n`);
    const r = await run({}, 'agent', '--check-config', '--config', file);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${file}: unknown setting "zzzzzz"; the settings are node, broker,`);
  });

  test('a value not in the list: the value, the choices and where it came from (flag, env, file)', async () => {
    const choices = '"verbose" is not allowed; use one of debug, info, warn, error';
    const flag = await agent({}, '--config', '/dev/null', '--resources', join(dir, 'policy'), '--log-level', 'verbose');
    expect(flag.code).toBe(2);
    expect(flag.err).toContain(`logLevel: ${choices} (from --log-level)`);
    const env = await agent({ OUTPOST_LOG_LEVEL: 'verbose' }, '--config', '/dev/null', '--resources', join(dir, 'policy'));
    expect(env.err).toContain(`logLevel: ${choices} (from OUTPOST_LOG_LEVEL)`);
    const file = join(dir, 'level.yaml');
    await writeFile(file, 'logLevel: verbose\n');
    const fromFile = await agent({}, '--config', file, '--resources', join(dir, 'policy'));
    expect(fromFile.err).toContain(`logLevel: ${choices} (from ${file})`);
    // The flag wins over the file, so it is the one named.
    const both = await agent({}, '--config', file, '--resources', join(dir, 'policy'), '--log-level', 'loud');
    expect(both.err).toContain('logLevel: "loud" is not allowed');
    expect(both.err).toContain('(from --log-level)');
  });

  test('a value of the wrong type says what the setting takes', async () => {
    const file = join(dir, 'types.yaml');
    await writeFile(file, 'node: gw\nresources: 5\nprobes: {tcp: 1}\n');
    const r = await run({}, 'agent', '--check-config', '--config', file);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`resources: must be a list, not 5 (from ${file})`);
    expect(r.err).toContain(`probes: must be a list, not a mapping (from ${file})`);
    const relay = await run({ OUTPOST_INSECURE: 'maybe' }, 'relay', '--config', '/dev/null', '--resources', dir, '--listen', '127.0.0.1:1883', '--signing-key', 'k');
    expect(relay.code).toBe(2);
    expect(relay.err).toContain('insecure: must be true or false, not "maybe" (from OUTPOST_INSECURE)');
  });

  test('a value out of range or malformed names the bound or the rule', async () => {
    const r = await agent({ OUTPOST_NFT_TIMEOUT_MS: '5', OUTPOST_CONFIRM_WINDOW_MS: 'soon' }, '--config', '/dev/null', '--resources', join(dir, 'policy'), '--failsafe-inbound', 'tcp:99999');
    expect(r.code).toBe(2);
    expect(r.err).toContain('nftTimeoutMs: 5 is too small; the least allowed is 100 (from OUTPOST_NFT_TIMEOUT_MS)');
    expect(r.err).toContain('confirmWindowMs: "soon" must be a whole number of milliseconds (from OUTPOST_CONFIRM_WINDOW_MS)');
    expect(r.err).toMatch(/failsafeInbound: .*99999.*\(from --failsafe-inbound\)/);
    const node = await run({}, 'agent', '--check-config', '--config', '/dev/null', '--resources', join(dir, 'policy'), '--node', 'Gate_1');
    expect(node.err).toContain('node: "Gate_1" must be a DNS-1123 subdomain (lower case) (from --node)');
    // No raw schema text anywhere.
    for (const out of [r.err, node.err]) expect(out).not.toMatch(/Invalid (type|value|key)|Expected /);
  });
});

describe('--check-config looks at the files and folders the configuration names', () => {
  test('all there: exit 0', async () => {
    const r = await agent({}, '--config', '/dev/null', '--resources', join(dir, 'policy'));
    expect(r.code).toBe(0);
    expect(r.out).toContain('config ok');
  });

  test('a missing resources folder: exit 2 naming the setting and the path', async () => {
    const missing = join(dir, 'no-such-policy');
    const r = await agent({}, '--config', '/dev/null', '--resources', missing);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`resources: ${missing} does not exist`);
    expect(r.out).not.toContain('config ok');
  });

  test('a missing trust key: named as missing, from a config file path made absolute', async () => {
    const file = join(dir, 'relay-mode.yaml');
    await writeFile(file, 'node: gw\nbroker: mqtt://198.18.4.2:1883\ntrustKey: keys/relay.pub\n');
    const r = await run({}, 'agent', '--check-config', '--config', file, '--state', join(dir, 'state'));
    expect(r.code).toBe(2);
    expect(r.err).toContain(`trustKey: ${join(dir, 'keys/relay.pub')} does not exist`);
  });

  test('a state folder that cannot be created, and an nft that is not there', async () => {
    await writeFile(join(dir, 'plain-file'), 'x');
    const r = await run({}, 'agent', '--check-config', '--config', '/dev/null', '--node', 'gw', '--resources', join(dir, 'policy'), '--state', join(dir, 'plain-file', 'state'), '--nft', join(dir, 'bin', 'nft'));
    expect(r.code).toBe(2);
    expect(r.err).toContain(`state: ${join(dir, 'plain-file', 'state')} cannot be created: ${join(dir, 'plain-file')} is not a folder`);
    expect(r.err).toContain(`nft: ${join(dir, 'bin', 'nft')} does not exist`);
  });

  test('pathProblems: each kind of path setting', async () => {
    const table: Setting[] = [
      { key: 'files', env: 'X_FILES', flag: '--files', kind: 'list', help: '', path: 'file' },
      { key: 'tool', env: 'X_TOOL', flag: '--tool', kind: 'string', help: '', path: 'command' },
      { key: 'state', env: 'X_STATE', flag: '--state', kind: 'string', help: '', path: 'created' },
      { key: 'name', env: 'X_NAME', flag: '--name', kind: 'string', help: '' },
    ];
    await writeFile(join(dir, 'script'), '#!/bin/sh\n');
    await chmod(join(dir, 'script'), 0o644);
    expect(pathProblems(table, { files: [join(dir, 'policy')], tool: 'sh', state: join(dir, 'new', 'deeper'), name: '/nope' })).toEqual([]);
    expect(pathProblems(table, { files: [join(dir, 'policy'), join(dir, 'gone')], tool: 'no-such-tool-h1', state: join(dir, 'plain-file') })).toEqual([
      `files: ${join(dir, 'gone')} does not exist`,
      'tool: no-such-tool-h1 is not on PATH',
      `state: ${join(dir, 'plain-file')} is not a folder`,
    ]);
    // Root reads anything, but an executable bit is checked even for root.
    expect(pathProblems(table, { tool: join(dir, 'script') })).toEqual([`tool: ${join(dir, 'script')} is not executable`]);
  });
});
