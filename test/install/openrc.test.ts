/**
 * The OpenRC script, run by the real OpenRC: Debian's openrc packages (downloaded by
 * scripts/setup.sh, never installed here) unpacked into a scratch BusyBox appliance root, the
 * tarball installed there with `install.sh --root --init openrc --enable`, and `rc-service` run
 * chrooted in a lab namespace (openrc-run, supervise-daemon): the agent started and enforcing
 * (real packets), respawned by supervise-daemon after kill -9, a bad configuration refused by
 * `outpost agent --check-config` (at start: nothing started or respawned; at restart: the running
 * agent kept), stop keeping the ruleset; the relay's script refusing the unconfigured sample
 * relay.yaml, then running a configured relay under supervise-daemon (respawned after kill -9);
 * then uninstall.sh on that root stopping the agent through rc-service: no table, no file.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { HOST, tarballPath, tarballStem } from '../../scripts/package/layout.ts';
import { makeApplianceRoot, type ApplianceRoot } from './appliance-root.ts';
import { addOpenrc, requireOpenrcDebs } from './openrc-root.ts';
import {
  ALLOWED_PORT, applianceLab, DENIED_PORT, fileTree, isRoot, localModeConfig, NATIVE, ok, output, requireArtifact, RESOURCES,
  waitUntil, type ApplianceLab, type RunResult,
} from './support.ts';

const tarball = tarballPath(NATIVE);
const SERVICE = 'outpost-agent';
const GOOD_CONFIG = localModeConfig('/etc/outpost/resources');
/** A typo: the agent would exit 2 at once, naming the key. */
const BAD_CONFIG = 'node: app\nresorces:\n  - /etc/outpost/resources\n';
let work: string;
let unpacked: string;
let root: ApplianceRoot;
let app: ApplianceLab;
let before: string[];

const at = (p: string) => join(root.dir, p);
const rcService = (...args: string[]): Promise<RunResult> => root.inRoot(app.ns, ['rc-service', SERVICE, ...args]);
const said = (r: RunResult) => r.stdout + r.stderr;
const agentLog = async () => readFile(at(HOST.log), 'utf8').catch(() => '');
const inForceCount = async () => (await agentLog()).split('\n').filter((l) => l.includes('"ruleset in force"')).length;

/** The agents (argv[0] /usr/bin/outpost) and supervise-daemons running in the appliance's namespace. */
async function processes(): Promise<{ agents: number[]; supervisors: number[] }> {
  const agents: number[] = [];
  const supervisors: number[] = [];
  for (const pid of (await ok(['ip', 'netns', 'pids', app.ns])).stdout.split(/\s+/).filter(Boolean).map(Number)) {
    const argv0 = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0')[0];
    if (argv0 === HOST.binary) agents.push(pid);
    else if (argv0 === 'supervise-daemon' || argv0?.endsWith('/supervise-daemon')) supervisors.push(pid);
  }
  return { agents, supervisors };
}

const state = async () => `${JSON.stringify(await processes())}\n--- ${HOST.log} ---\n${await agentLog()}`;

/** Waits for the `n`th "ruleset in force" in the log. */
const inForce = (n: number) => waitUntil(`the agent never logged "ruleset in force" ${n} time(s)`, async () => ((await inForceCount()) >= n ? true : undefined), state);

describe.skipIf(!isRoot)(`OpenRC script under Debian's OpenRC, on a scratch root (${NATIVE.name})`, () => {
  beforeAll(async () => {
    requireArtifact(tarball);
    const debs = await requireOpenrcDebs(); // fails, naming scripts/setup.sh, if they were not downloaded
    work = await mkdtemp(join(tmpdir(), 'outpost-openrc-'));
    app = await applianceLab();
    root = await makeApplianceRoot(requireArtifact(join(dirname(tarball), `outpost-${NATIVE.name}`)));
    await addOpenrc(root, debs);
    await ok(['/bin/busybox', 'tar', 'xzf', tarball, '-C', work]);
    unpacked = join(work, tarballStem(NATIVE));
    before = await fileTree(root.dir);
  });
  afterAll(async () => {
    await app?.lab.destroy(); // also kills supervise-daemon and an agent left running in the namespace
    if (root) await rm(root.dir, { recursive: true, force: true });
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('install.sh --root --init openrc --enable: the script in /etc/init.d, in the boot runlevel, known to OpenRC', async () => {
    const r = await root.busyboxSh(app.ns, join(unpacked, 'install.sh'), ['--root', root.dir, '--init', 'openrc', '--enable']);
    expect(r.exitCode, output(r)).toBe(0);
    expect((await stat(at(HOST.initScript))).mode & 0o777).toBe(0o755);
    expect(await readlink(at(`etc/runlevels/boot/${SERVICE}`))).toBe(HOST.initScript);
    const boot = await root.inRoot(app.ns, ['rc-update', 'show', 'boot']);
    expect(boot.exitCode, output(boot)).toBe(0);
    expect(boot.stdout).toMatch(new RegExp(`^\\s*${SERVICE} \\| boot\\s*$`, 'm'));
  });

  test('the shipped config: start is refused by check-config, with its message; nothing is started', async () => {
    const r = await rcService('start');
    expect(r.exitCode, output(r)).not.toBe(0);
    expect(said(r)).toContain(`outpost agent --check-config refuses ${HOST.config}`);
    expect(said(r)).toContain('a source of policy is required');
    expect(existsSync(at(HOST.log))).toBe(false); // the agent never ran
    expect(await processes()).toEqual({ agents: [], supervisors: [] });
    expect(await app.hasTable()).toBe(false);
    const status = await rcService('status');
    expect(status.exitCode, output(status)).toBe(3);
  });

  test('configured for local mode, rc-service starts the agent under supervise-daemon; it enforces (real packets)', async () => {
    await mkdir(at('etc/outpost/resources'));
    for (const [name, text] of Object.entries(RESOURCES)) await writeFile(at(`etc/outpost/resources/${name}`), text);
    await writeFile(at(HOST.config), GOOD_CONFIG);
    const check = await rcService('checkconfig');
    expect(check.exitCode, output(check)).toBe(0);
    expect(check.stdout).toContain('config ok: node app, local mode, resources /etc/outpost/resources');
    expect(await app.reaches(DENIED_PORT)).toBe(true); // open before the agent runs

    const r = await rcService('start');
    expect(r.exitCode, output(r)).toBe(0);
    expect(r.stdout).toContain('config ok: node app');
    await inForce(1);
    expect(await app.reaches(ALLOWED_PORT)).toBe(true);
    expect(await app.reaches(DENIED_PORT)).toBe(false);
    const status = await rcService('status');
    expect(status.exitCode, output(status)).toBe(0);
    expect(status.stdout).toContain('started');
    const { agents, supervisors } = await processes();
    expect(agents).toHaveLength(1);
    expect(supervisors).toHaveLength(1);
    // supervise-daemon holds the pidfile; the agent is its child, with a cleared environment.
    expect(Number(await readFile(at(HOST.pidfile), 'utf8'))).toBe(supervisors[0]!);
    expect(await readFile(`/proc/${agents[0]}/environ`, 'utf8')).toBe('PATH=/usr/sbin:/usr/bin:/sbin:/bin\0');
    expect((await stat(at(HOST.state))).mode & 0o777).toBe(0o700);
  });

  test('kill -9 of the agent: supervise-daemon respawns it, and it enforces again', async () => {
    const [killed] = (await processes()).agents;
    process.kill(killed!, 'SIGKILL');
    const respawned = await waitUntil(
      'supervise-daemon did not respawn the agent',
      async () => {
        const { agents } = await processes();
        return agents.length === 1 && agents[0] !== killed ? agents[0] : undefined;
      },
      state,
    );
    await inForce(2);
    expect((await processes()).agents).toEqual([respawned]);
    expect(await app.reaches(ALLOWED_PORT)).toBe(true);
    expect(await app.reaches(DENIED_PORT)).toBe(false);
    expect((await rcService('status')).exitCode).toBe(0);
  });

  test('restart with a bad config is refused by check-config: the running agent is kept', async () => {
    const running = await processes();
    await writeFile(at(HOST.config), BAD_CONFIG);
    const r = await rcService('restart');
    expect(r.exitCode, output(r)).not.toBe(0);
    expect(said(r)).toContain('resorces');
    expect(said(r)).toContain('not restarted: the running agent keeps the configuration it started with');
    expect(await processes()).toEqual(running);
    expect((await rcService('status')).exitCode).toBe(0);
    expect(await app.reaches(DENIED_PORT)).toBe(false);
    await writeFile(at(HOST.config), GOOD_CONFIG);
  });

  test('rc-service stop ends the agent and supervise-daemon; the ruleset stays in force', async () => {
    const r = await rcService('stop');
    expect(r.exitCode, output(r)).toBe(0);
    expect(await processes()).toEqual({ agents: [], supervisors: [] });
    expect((await rcService('status')).exitCode).toBe(3);
    expect(await agentLog()).toContain('the ruleset in force stays');
    expect(await app.hasTable()).toBe(true);
    expect(await app.reaches(DENIED_PORT)).toBe(false);
  });

  test('start with a bad config is refused by check-config: nothing started, nothing respawned', async () => {
    await writeFile(at(HOST.config), BAD_CONFIG);
    const log = await agentLog();
    const r = await rcService('start');
    expect(r.exitCode, output(r)).not.toBe(0);
    expect(said(r)).toContain(`outpost agent --check-config refuses ${HOST.config}`);
    expect(said(r)).toContain('resorces');
    await Bun.sleep(2500); // longer than respawn_delay: a supervised agent would have come back by now
    expect(await processes()).toEqual({ agents: [], supervisors: [] });
    expect(await agentLog()).toBe(log);
    expect((await rcService('status')).exitCode).toBe(3);
    expect(await app.hasTable()).toBe(true); // the last good ruleset is still in force
  });

  test("the relay's OpenRC script: the shipped sample is refused by relay --check-config; configured, supervise-daemon runs and respawns the relay", async () => {
    const relayService = (...args: string[]) => root.inRoot(app.ns, ['rc-service', 'outpost-relay', ...args]);
    const relays = async () => {
      const pids: number[] = [];
      for (const pid of (await ok(['ip', 'netns', 'pids', app.ns])).stdout.split(/\s+/).filter(Boolean).map(Number)) {
        const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0');
        if (argv[0] === HOST.binary && argv[1] === 'relay') pids.push(pid);
      }
      return pids;
    };
    const relayLog = async () => readFile(at('var/log/outpost-relay.log'), 'utf8').catch(() => '(no log)');
    const refused = await relayService('start');
    expect(refused.exitCode, output(refused)).not.toBe(0);
    expect(said(refused)).toContain(`outpost relay --check-config refuses ${HOST.relayConfig}`);
    expect(said(refused)).toContain('signingKey: /etc/outpost/relay.key does not exist');
    expect(await relays()).toEqual([]);

    await ok([at(HOST.binary), 'keygen', '--out', at('etc/outpost/relay')]);
    await writeFile(at(HOST.relayConfig), 'resources: [/etc/outpost/resources]\nstate: /var/lib/outpost-relay\nlisten: 127.0.0.1:1883\ninsecure: true\nsigningKey: relay.key\nmetricsListen: "off"\n');
    try {
      const r = await relayService('start');
      expect(r.exitCode, output(r)).toBe(0);
      expect(said(r)).toContain('config ok:');
      await waitUntil('the relay never published', async () => ((await relayLog()).includes('snapshots published') ? true : undefined), relayLog);
      const [first] = await relays();
      expect(first).toBeDefined();
      expect(await readFile(`/proc/${first}/environ`, 'utf8')).toBe('PATH=/usr/sbin:/usr/bin:/sbin:/bin\0');
      process.kill(first!, 'SIGKILL');
      await waitUntil('supervise-daemon did not respawn the relay', async () => {
        const now = await relays();
        return now.length === 1 && now[0] !== first ? true : undefined;
      }, relayLog);
      expect((await relayService('status')).exitCode).toBe(0);
    } finally {
      const stop = await relayService('stop');
      expect(stop.exitCode, output(stop)).toBe(0);
    }
    expect(await relays()).toEqual([]);
    expect((await relayService('status')).exitCode).toBe(3);
  });

  test('uninstall.sh on the OpenRC root stops the running agent through rc-service, deletes the table and every installed file', async () => {
    await writeFile(at(HOST.config), GOOD_CONFIG);
    const start = await rcService('start');
    expect(start.exitCode, output(start)).toBe(0);
    await inForce(3);

    const r = await root.inRoot(app.ns, ['/bin/sh', HOST.uninstaller]);
    expect(r.exitCode, output(r)).toBe(0);
    expect(r.stdout).toContain('stopping outpost-agent (OpenRC)');
    expect(r.stdout).toContain('deleted the nftables table inet outpost');
    expect(await processes()).toEqual({ agents: [], supervisors: [] });
    expect(await app.hasTable()).toBe(false);
    expect(await app.reaches(DENIED_PORT)).toBe(true);
    expect(await fileTree(root.dir)).toEqual(before);
    // OpenRC no longer knows the service.
    expect((await root.inRoot(app.ns, ['rc-service', '--exists', SERVICE])).exitCode).not.toBe(0);
    expect((await root.inRoot(app.ns, ['rc-update', 'show', 'boot'])).stdout).not.toContain(SERVICE);
  });
});
