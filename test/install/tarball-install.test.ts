/**
 * The tarball on a scratch appliance: checksum, BusyBox tar, `install.sh --root` run by BusyBox
 * sh with only BusyBox applets on PATH, the agent started by its installed sysv init script
 * (chrooted, in a lab namespace) once it has refused the shipped config through
 * `outpost agent --check-config`, enforcement checked with real packets, a restart with a bad
 * config refused (the agent kept), then the init script's stop (the ruleset stays); the relay's
 * init script refusing the shipped sample relay.yaml (its key files do not exist yet), then
 * running a configured relay that the agent, switched to relay mode, takes its policy from;
 * `uninstall.sh --root` from outside stops the agent running chrooted in the image but leaves
 * the table alone (that namespace belongs to the machine running it, not to the image), and the
 * installed uninstaller run on the appliance itself removes the table and every file: traffic
 * flows again, and the root's file list is what it was before the install.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { checksumPath, HOST, tarballPath, tarballStem } from '../../scripts/package/layout.ts';
import { makeApplianceRoot, type ApplianceRoot } from './appliance-root.ts';
import {
  ALLOWED_PORT, applianceLab, DENIED_PORT, fileTree, isRoot, localModeConfig, NATIVE, ok, output, requireArtifact, RESOURCES,
  waitUntil, type ApplianceLab, type RunResult,
} from './support.ts';

const tarball = tarballPath(NATIVE);
let work: string;
let unpacked: string;
let root: ApplianceRoot;
let app: ApplianceLab;
let before: string[];

const at = (p: string) => join(root.dir, p);
const initScript = (action: string) => root.inRoot(app.ns, [HOST.initScript, action]);
/** A script from the tarball (or the installed root), by BusyBox sh with BusyBox's applets only. */
const busyboxSh = (script: string, args: string[]): Promise<RunResult> => root.busyboxSh(app.ns, script, args);
const agentLog = async () => readFile(at(HOST.log), 'utf8').catch(() => '(no log)');

describe.skipIf(!isRoot)(`tarball install on a BusyBox appliance (${NATIVE.name})`, () => {
  beforeAll(async () => {
    requireArtifact(tarball);
    requireArtifact(checksumPath(tarball));
    work = await mkdtemp(join(tmpdir(), 'outpost-tarball-'));
    app = await applianceLab();
    root = await makeApplianceRoot(requireArtifact(join(dirname(tarball), `outpost-${NATIVE.name}`)));
    before = await fileTree(root.dir);
  });
  afterAll(async () => {
    await app?.lab.destroy(); // also kills an agent left running in the namespace
    if (root) await rm(root.dir, { recursive: true, force: true });
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('the tarball matches its .sha256 and unpacks with BusyBox tar into one folder', async () => {
    await ok(['sha256sum', '-c', basename(checksumPath(tarball))], { cwd: dirname(tarball) });
    await ok(['/bin/busybox', 'tar', 'xzf', tarball, '-C', work]);
    expect(await fileTree(work).then((t) => t.filter((p) => /^[^/]+\/?$/.test(p)))).toEqual([`${tarballStem(NATIVE)}/`]);
    unpacked = join(work, tarballStem(NATIVE));
    expect(await readFile(join(unpacked, 'VERSION'), 'utf8')).toContain(`target=${NATIVE.name}\n`);
  });

  test('install.sh --root --init sysv --enable installs everything, under BusyBox sh', async () => {
    const r = await busyboxSh(join(unpacked, 'install.sh'), ['--root', root.dir, '--init', 'sysv', '--enable']);
    expect(r.exitCode, output(r)).toBe(0);
    expect(r.stdout).toContain(`installed ${at(HOST.binary)}`);
    expect((await stat(at(HOST.binary))).mode & 0o777).toBe(0o755);
    expect((await stat(at(HOST.config))).mode & 0o777).toBe(0o600);
    expect((await stat(at(HOST.state))).mode & 0o777).toBe(0o700);
    expect((await stat(at(HOST.initScript))).mode & 0o777).toBe(0o755);
    expect((await stat(at(HOST.uninstaller))).mode & 0o777).toBe(0o755);
    // BusyBox rcS runs /etc/init.d/S??*: enabled at boot, before S40network.
    expect(await readlink(at('etc/init.d/S35outpost-agent'))).toBe('outpost-agent');
    // The relay's script, its sample config, pki.sh and the examples are there; the relay is not enabled.
    expect((await stat(at(HOST.relayInitScript))).mode & 0o777).toBe(0o755);
    expect((await stat(at(HOST.relayConfig))).mode & 0o777).toBe(0o600);
    expect((await stat(at(HOST.pki))).mode & 0o777).toBe(0o755);
    expect(await fileTree(at(HOST.examples))).toContain('first-host/host-endpoint.yaml');
    expect(await fileTree(at('etc/init.d')).then((t) => t.filter((p) => p.includes('relay')))).toEqual(['outpost-relay']);
  });

  test('the installed binary validates the installed examples (inside the appliance)', async () => {
    const r = await root.inRoot(app.ns, [HOST.binary, 'validate', '-f', `${HOST.examples}/first-host`, '-f', `${HOST.examples}/tiers.yaml`]);
    expect(r.exitCode, output(r)).toBe(0);
    expect(r.stdout).toContain('9 valid resource(s), 0 problem(s)');
  });

  test('the shipped config configures nothing: the init script refuses it through check-config, starting nothing', async () => {
    const r = await initScript('start');
    expect(r.exitCode, output(r)).toBe(6); // LSB: program is not configured
    expect(r.stderr).toContain(`outpost agent --check-config refuses ${HOST.config}`);
    expect(r.stderr).toContain('a source of policy is required');
    expect(existsSync(at(HOST.log))).toBe(false); // the agent never ran
    expect(await app.hasTable()).toBe(false);
    expect((await initScript('status')).exitCode).toBe(3);
  });

  test('install.sh again keeps an edited agent.yaml', async () => {
    await writeFile(at(HOST.config), localModeConfig('/etc/outpost/resources'));
    const r = await busyboxSh(join(unpacked, 'install.sh'), ['--root', root.dir, '--init', 'sysv']);
    expect(r.exitCode, output(r)).toBe(0);
    expect(r.stdout).toContain('kept the existing');
    expect(await readFile(at(HOST.config), 'utf8')).toBe(localModeConfig('/etc/outpost/resources'));
  });

  test('the init script starts the agent, which enforces the policy (real packets)', async () => {
    await mkdir(at('etc/outpost/resources'));
    for (const [name, text] of Object.entries(RESOURCES)) await writeFile(at(`etc/outpost/resources/${name}`), text);
    expect(await app.reaches(DENIED_PORT)).toBe(true); // open before the agent runs

    const r = await initScript('start');
    expect(r.exitCode, output(r)).toBe(0);
    expect(r.stdout).toContain('outpost-agent: config ok: node app, local mode');
    await waitUntil('the agent never logged "ruleset in force"', async () => ((await agentLog()).includes('ruleset in force') ? true : undefined), agentLog);
    expect(await app.reaches(ALLOWED_PORT)).toBe(true);
    expect(await app.reaches(DENIED_PORT)).toBe(false);
    const status = await initScript('status');
    expect(status.exitCode, output(status)).toBe(0);
    expect(status.stdout).toContain('is running');
    // Its state (nft work files) is in the state dir, not in /tmp.
    expect(await fileTree(at(HOST.state))).toContain('outpost.db');
    expect(await fileTree(at('tmp'))).toEqual([]);
  });

  test('restart with a bad config is refused through check-config: the running agent is kept', async () => {
    const running = await initScript('status');
    await writeFile(at(HOST.config), 'node: app\nresorces:\n  - /etc/outpost/resources\n');
    try {
      const r = await initScript('restart');
      expect(r.exitCode, output(r)).toBe(6);
      expect(r.stderr).toContain('resorces');
      expect(r.stderr).toContain('not restarted: the running agent keeps the configuration it started with');
      expect(await initScript('status')).toEqual(running); // same pid
    } finally {
      await writeFile(at(HOST.config), localModeConfig('/etc/outpost/resources'));
    }
  });

  test('the init script stops the agent; the ruleset stays in force', async () => {
    const r = await initScript('stop');
    expect(r.exitCode, output(r)).toBe(0);
    expect((await initScript('status')).exitCode).toBe(3);
    expect(await agentLog()).toContain('the ruleset in force stays');
    expect(await app.hasTable()).toBe(true);
    expect(await app.reaches(DENIED_PORT)).toBe(false);
  });

  test("the relay's init script refuses the shipped sample through relay --check-config: its key files do not exist yet", async () => {
    const r = await root.inRoot(app.ns, [HOST.relayInitScript, 'start']);
    expect(r.exitCode, output(r)).toBe(6);
    expect(r.stderr).toContain(`outpost relay --check-config refuses ${HOST.relayConfig}`);
    expect(r.stderr).toContain('signingKey: /etc/outpost/relay.key does not exist');
    expect(existsSync(at('var/log/outpost-relay.log'))).toBe(false);
    expect((await root.inRoot(app.ns, [HOST.relayInitScript, 'status'])).exitCode).toBe(3);
  });

  test("configured, the relay's init script starts the relay, which serves the agent (real packets), and stops it", async () => {
    await ok([join(root.dir, HOST.binary), 'keygen', '--out', at('etc/outpost/relay')]);
    await writeFile(at(HOST.relayConfig), 'resources: [/etc/outpost/resources]\nstate: /var/lib/outpost-relay\nlisten: 127.0.0.1:1883\ninsecure: true\nsigningKey: relay.key\nmetricsListen: "off"\n');
    await writeFile(at(HOST.config), `node: app\nbroker: mqtt://127.0.0.1:1883\ntrustKey: /etc/outpost/relay.pub\n`);
    const relayLog = async () => readFile(at('var/log/outpost-relay.log'), 'utf8').catch(() => '(no log)');
    try {
      const r = await root.inRoot(app.ns, [HOST.relayInitScript, 'start']);
      expect(r.exitCode, output(r)).toBe(0);
      expect(r.stdout).toContain('outpost-relay: config ok:');
      await waitUntil('the relay never published', async () => ((await relayLog()).includes('snapshots published') ? true : undefined), relayLog);
      expect((await root.inRoot(app.ns, [HOST.relayInitScript, 'status'])).stdout).toContain('outpost-relay is running');
      expect(await fileTree(at(HOST.relayState))).not.toEqual([]); // the folder's last valid resources
      // The agent, now in relay mode, takes the relay's snapshot.
      const a = await initScript('start');
      expect(a.exitCode, output(a)).toBe(0);
      await waitUntil('the agent never took the snapshot', async () => ((await agentLog()).includes('"from":"relay"') ? true : undefined), agentLog);
      expect(await app.reaches(ALLOWED_PORT)).toBe(true);
      expect(await app.reaches(DENIED_PORT)).toBe(false);
    } finally {
      expect((await initScript('stop')).exitCode).toBe(0);
      const stop = await root.inRoot(app.ns, [HOST.relayInitScript, 'stop']);
      expect(stop.exitCode, output(stop)).toBe(0);
      await writeFile(at(HOST.config), localModeConfig('/etc/outpost/resources'));
    }
    expect((await root.inRoot(app.ns, [HOST.relayInitScript, 'status'])).exitCode).toBe(3);
  });

  test("uninstall.sh --root, run from outside, removes nothing but files: the namespace's table is not the image's", async () => {
    // What a reinstall puts back: all but the agent's state and log.
    const keep = (await fileTree(root.dir)).filter((p) => !p.startsWith('var/lib/outpost/') && !p.startsWith('var/lib/outpost-relay/') && !p.startsWith('var/log/outpost-'));
    await ok(['cp', '-a', at(HOST.uninstaller), join(work, 'uninstall.sh')]);
    // An agent running chrooted in the image is the image's: it is stopped (its root is the image).
    const start = await initScript('start');
    expect(start.exitCode, output(start)).toBe(0);
    const pid = Number(await readFile(at(HOST.pidfile), 'utf8'));
    const r = await busyboxSh(join(work, 'uninstall.sh'), ['--root', root.dir, '--keep-config']);
    expect(r.exitCode, output(r)).toBe(0);
    expect(r.stdout).toContain(`stopping outpost-agent (pid ${pid})`);
    expect(existsSync(`/proc/${pid}/cmdline`) && (await readFile(`/proc/${pid}/cmdline`, 'utf8')).startsWith(HOST.binary)).toBe(false);
    expect(r.stdout).toContain("left this machine's nftables table inet outpost alone");
    expect(await app.hasTable()).toBe(true);
    expect(await app.reaches(DENIED_PORT)).toBe(false);
    // Put it back for the next test: install again over the kept config.
    const again = await busyboxSh(join(unpacked, 'install.sh'), ['--root', root.dir, '--init', 'sysv', '--enable']);
    expect(again.exitCode, output(again)).toBe(0);
    expect((await fileTree(root.dir)).filter((p) => !p.startsWith('var/lib/outpost/'))).toEqual(keep);
  });

  test('uninstall.sh on the appliance itself deletes the table and every installed file', async () => {
    const r = await root.inRoot(app.ns, ['/bin/sh', HOST.uninstaller]);
    expect(r.exitCode, output(r)).toBe(0);
    expect(r.stdout).toContain('deleted the nftables table inet outpost');
    expect(await app.hasTable()).toBe(false);
    expect(await app.reaches(DENIED_PORT)).toBe(true);
    expect(await fileTree(root.dir)).toEqual(before);
  });
});
