/**
 * The linux-arm64 binary is tested, not only built: under qemu-user (no binfmt needed:
 * `qemu-aarch64-static -L /usr/aarch64-linux-gnu`) it validates resources, renders the same
 * nftables JSON as the x64 build, enforces in a lab namespace, and enforces from its SQLite cache.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EnforcementHarness, isRoot, tcp, udp, icmp } from '../integration/harness.ts';
import { doc, gnp, hep } from '../integration/fixtures.ts';
import { BROKER, inForce, SyncLab, waitLog } from '../integration/sync-harness.ts';
import { builtBinary, QEMU_ARM64 } from './artifacts.ts';

const arm64 = [...QEMU_ARM64, builtBinary('linux-arm64')];
const x64 = [builtBinary('linux-x64')];

// Enough of the model to make the renders worth comparing: tiers, profiles, named ports, a
// network set, v4 and v6, ICMP, a deny. As in Felix, HEP policy also governs ICMPv6 neighbour
// discovery, so the web policy allows ICMPv6 or nothing over IPv6 would get through.
const RESOURCES = {
  'heps.yaml':
    hep('gw-eth1', { iface: 'eth1', ips: ['198.18.1.1', 'fd00:1::1'], labels: { role: 'gw', zone: 'lan' }, profiles: ['base'], ports: '[{name: web, port: 80, protocol: TCP}]' }) +
    hep('gw-eth2', { iface: 'eth2', labels: { role: 'gw', zone: 'dmz' } }) +
    hep('c1', { node: 'c1', ips: ['198.18.1.2', 'fd00:1::2'], labels: { role: 'client' } }),
  'sets.yaml': doc('GlobalNetworkSet', 'admins', 'nets: [198.18.2.0/24, "fd00:2::/64"]', { team: 'admin' }),
  'tiers.yaml': doc('Tier', 'security', 'order: 100'),
  'profiles.yaml': doc('Profile', 'base', 'ingress: [{action: Allow, protocol: UDP, destination: {ports: [53]}}]\negress: [{action: Allow}]'),
  'policies.yaml':
    gnp('security.no-web-from-dmz', "tier: security\norder: 10\nselector: role == 'gw'\ningress: [{action: Deny, protocol: TCP, source: {nets: [198.18.2.0/24]}, destination: {ports: [443]}}, {action: Pass}]") +
    gnp('web', "order: 100\nselector: role == 'gw'\ningress: [{action: Allow, protocol: TCP, destination: {ports: [web, 443]}}, {action: Allow, protocol: ICMP}, {action: Allow, protocol: ICMPv6}]") +
    gnp('ssh-from-admins', "order: 200\nselector: zone == 'dmz'\ningress: [{action: Allow, protocol: TCP, source: {selector: team == 'admin'}, destination: {ports: [22]}}]\negress: [{action: Allow}]"),
};

function run(argv: string[], args: string[]) {
  const r = Bun.spawnSync([...argv, ...args], { stdin: 'ignore', env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
  return { exitCode: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

describe.skipIf(!isRoot)('linux-arm64 binary under qemu-user', () => {
  let h: EnforcementHarness;
  beforeAll(async () => {
    h = await EnforcementHarness.create();
    await h.writeResources(RESOURCES);
  });
  afterAll(async () => {
    await h?.destroy();
  });

  test('it is an arm64 build and says so', () => {
    const r = run(arm64, ['version', '-o', 'json']);
    expect(r.exitCode).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ target: 'linux-arm64', compiled: true });
  });

  test('where execve of itself is impossible (qemu-user, no binfmt) it drops BUN_* variables and says so', () => {
    const r = Bun.spawnSync([...arm64, 'version', '-o', 'json'], { stdin: 'ignore', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', BUN_CONFIG_VERBOSE_FETCH: '1' } });
    expect(r.exitCode).toBe(0);
    expect(r.stderr.toString()).toContain('ignoring BUN_CONFIG_VERBOSE_FETCH (Bun runtime variables)');
    expect(JSON.parse(r.stdout.toString())).toMatchObject({ target: 'linux-arm64' });
  });

  test('validates resources exactly as the x64 build does, good and bad', async () => {
    const good = run(arm64, ['validate', '-f', h.dir]);
    expect(good.exitCode).toBe(0);
    expect(good).toEqual(run(x64, ['validate', '-f', h.dir]));
    const badFile = join(h.dir, '..', 'bad.yaml');
    await writeFile(badFile, gnp('broken', "selector: role == 'gw'\ningress: [{action: Allow, protocol: TCP, destination: {ports: [70000]}}]"));
    const bad = run(arm64, ['validate', '-f', badFile]);
    expect(bad.exitCode).not.toBe(0);
    expect(bad.stderr + bad.stdout).toContain('70000');
    expect(bad).toEqual(run(x64, ['validate', '-f', badFile]));
  });

  test('renders byte-identical nftables JSON and plans to the x64 build', () => {
    for (const extra of [[], ['--plan']]) {
      const a = run(arm64, ['render', '--node', 'gw', '--resources', h.dir, ...extra]);
      const b = run(x64, ['render', '--node', 'gw', '--resources', h.dir, ...extra]);
      expect(a.exitCode).toBe(0);
      expect(a.stdout.length).toBeGreaterThan(1000);
      expect(a.stdout).toBe(b.stdout);
    }
  });

  test('applies the ruleset in a namespace and it enforces (real packets)', async () => {
    const r = await h.s.lab.exec('gw', [...arm64, 'agent', '--node', 'gw', '--resources', h.dir, '--state', h.state, '--once'], { reject: false, timeoutMs: 60_000 });
    expect(r.exitCode, r.stderr).toBe(0);
    const { addr } = h;
    const misses = await h.mismatches([
      tcp('c1', addr.gw.eth1.v4, 80, true),
      tcp('c1', addr.gw.eth1.v6, 443, true),
      tcp('c1', addr.gw.eth1.v4, 8080, false),
      // Profiles are not reached while a policy applies: the tier ends in deny.
      udp('c1', addr.gw.eth1.v4, 53, false),
      icmp('c1', addr.gw.eth1.v4, true),
      tcp('c2', addr.gw.eth2.v4, 22, true),
      // The security tier denies 443 from the dmz network before the web policy is reached.
      tcp('c2', addr.gw.eth2.v4, 443, false),
      tcp('c1', addr.gw.eth1.v4, 443, true),
      // eth3 has no HEP: not governed.
      tcp('behind', addr.gw.eth3.v4, 8080, true),
    ]);
    expect(misses).toEqual([]);
  });
});

describe.skipIf(!isRoot)('linux-arm64 agent with its SQLite cache, under qemu-user', () => {
  let lab: SyncLab;
  beforeAll(async () => {
    lab = await SyncLab.create({ etcd: false });
  });
  afterAll(async () => {
    await lab?.destroy();
  });

  test('caches the relay snapshot, and after a restart with no broker enforces from the cache', async () => {
    const folder = lab.path('resources');
    await mkdir(folder, { recursive: true });
    await writeFile(join(folder, 'gw.yaml'), hep('gw-eth2', { iface: 'eth2', labels: { role: 'gw' } }) + gnp('web', "selector: role == 'gw'\ningress: [{action: Allow, protocol: TCP, destination: {ports: [80]}}]"));
    const relay = lab.relay(['--resources', folder]);
    const state = lab.path('state-arm64');
    const agentArgs = (broker: string) => [...arm64, 'agent', '--node', 'gw', '--broker', broker, '--trust-key', lab.path('relay.pub'), '--state', state];
    const first = lab.lab.spawn('gw', agentArgs(BROKER));
    const fromRelay = await waitLog(first, inForce(), 60_000);
    expect(fromRelay['from']).toBe('relay');
    await first.stop();
    await relay.stop();
    await lab.lab.exec('gw', ['nft', 'delete', 'table', 'inet', 'outpost']);
    expect(await lab.tcp('c2', lab.s.addr.gw.eth2.v4, 443)).toBe(true);

    // A broker nobody answers on: the only way to the ruleset is bun:sqlite on arm64.
    const second = lab.lab.spawn('gw', agentArgs('mqtt://198.18.4.2:1'));
    try {
      const fromCache = await waitLog(second, inForce(), 60_000);
      expect(fromCache['from']).toBe('cache');
      expect(fromCache['revision']).toBe(fromRelay['revision']);
      expect(await lab.tcp('c2', lab.s.addr.gw.eth2.v4, 80)).toBe(true);
      expect(await lab.tcp('c2', lab.s.addr.gw.eth2.v4, 443)).toBe(false);
    } finally {
      await second.stop();
    }
  });
});
