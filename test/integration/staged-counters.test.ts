/**
 * Staged policies with the real nft and real packets (gw of the standard lab, table written by
 * the agent's Enforcer through the table writer):
 *
 * - a staged policy that would deny 443 while the enforced policy allows it: 443 still flows,
 *   and the staged would-deny counter rises by exactly the connections made (the enforced allow
 *   rule's counter rises by the same number: one new packet each);
 * - a staged allow counts; a packet no staged rule matches counts as no-match (neighbour
 *   discovery is given a staged Pass rule so that it cannot blur that count);
 * - a staged allow of a port the enforced policy denies does not open it (the verdict is the
 *   enforced one) and still counts;
 * - the structural audit passes on the table with staged chains, before and after a delta;
 * - with the enforcer stopped (the agent gone), the kernel keeps counting;
 * - the real agent (`outpost agent --once` on a manifest folder) renders them the same way.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { standardLab, type StandardLab, type Probe } from '../lab/lab.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAIN, isRoot } from './harness.ts';
import { enforcerIn, renderYaml, resource } from './table-writer-lab.ts';
import { stagedCounts, type StagedCount } from '../../src/nft/staged-counters.ts';

const HEP = resource('HostEndpoint', 'gw-eth1', { node: 'gw', interfaceName: 'eth1' }, { role: 'gw' });
const ENFORCED = resource('GlobalNetworkPolicy', 'allow-web', {
  selector: "role == 'gw'",
  ingress: [
    { action: 'Allow', protocol: 'TCP', destination: { ports: [443, 80] } },
    { action: 'Allow', protocol: 'UDP', destination: { ports: [53] } },
    // Neighbour discovery, so IPv6 reaches gw at all.
    { action: 'Allow', protocol: 'ICMPv6' },
  ],
  egress: [{ action: 'Allow' }],
});
const STAGED_V1 = resource('StagedGlobalNetworkPolicy', 'would-deny-443', {
  selector: "role == 'gw'",
  ingress: [{ action: 'Deny', protocol: 'TCP', destination: { ports: [443] } }],
});
const STAGED_V2 = resource('StagedGlobalNetworkPolicy', 'would-deny-443', {
  selector: "role == 'gw'",
  ingress: [
    { action: 'Deny', protocol: 'TCP', destination: { ports: [443] } },
    { action: 'Allow', protocol: 'TCP', destination: { ports: [80] } },
    // Neighbour discovery (c1 may ask at any time) must not blur the no-match count.
    { action: 'Pass', protocol: 'ICMPv6' },
  ],
  // Measured on egress too: replies to the connections above must not count there.
  egress: [{ action: 'Pass', protocol: 'ICMPv6' }],
});
const STAGED_OPEN = resource('StagedGlobalNetworkPolicy', 'would-open-8080', {
  selector: "role == 'gw'",
  types: ['Ingress'],
  ingress: [
    { action: 'Allow', protocol: 'TCP', destination: { ports: [8080] } },
    { action: 'Pass', protocol: 'ICMPv6' },
  ],
});
const yaml = (...docs: string[]) => docs.join('\n---\n');

describe.skipIf(!isRoot)('staged policy counters with real packets', () => {
  let s: StandardLab;
  let tw: Awaited<ReturnType<typeof enforcerIn>>;

  beforeAll(async () => {
    s = await standardLab();
    await s.lab.startResponder('gw', { tcp: [80, 443, 8080], udp: [53] });
    tw = await enforcerIn(s.lab, 'gw');
  });
  afterAll(async () => {
    tw?.enforcer.stop();
    await s?.lab.destroy();
  });

  const listing = async (): Promise<unknown> => JSON.parse((await s.lab.exec('gw', ['nft', '-j', 'list', 'table', 'inet', 'outpost'])).stdout) as unknown;
  const counts = async (): Promise<Map<string, StagedCount>> => new Map(stagedCounts(await listing()).map((c) => [`${c.policy} ${c.direction}`, c]));
  /** Packets the enforced allow rule for TCP 443/80 counted (every nft rule rendered from it). */
  const enforcedAllowTcp = async (): Promise<number> => {
    const items = (await listing()) as { nftables: { rule?: { chain: string; comment?: string; expr: Record<string, unknown>[] } }[] };
    let n = 0;
    for (const i of items.nftables) {
      if (i.rule?.chain !== 'pi-allow-web' || i.rule.comment !== 'policy default/allow-web ingress[0]') continue;
      for (const e of i.rule.expr) if ('counter' in e) n += (e['counter'] as { packets: number }).packets;
    }
    return n;
  };
  const probe = async (probes: Probe[]) => (await s.lab.probe('c1', probes)).map((r) => r.ok);
  const times = (n: number, p: Probe): Probe[] => Array.from({ length: n }, () => ({ ...p }));
  const pkts = (c: StagedCount | undefined, f: 'wouldAllow' | 'wouldDeny' | 'wouldPass' | 'noMatch') => c?.[f].packets ?? 0;

  test('the table with staged chains passes the structural audit, written whole and as a delta', async () => {
    expect(await tw.enforcer.enforce(renderYaml(yaml(HEP, ENFORCED, STAGED_V1)))).toBe(true);
    expect(await tw.enforcer.audit()).toEqual([]);
    expect(await tw.enforcer.enforce(renderYaml(yaml(HEP, ENFORCED, STAGED_V2, STAGED_OPEN)))).toBe(true);
    expect(await tw.enforcer.audit()).toEqual([]);
    // would-open-8080 is Ingress only: no egress chain for it.
    expect([...(await counts()).keys()].sort()).toEqual(['would-deny-443 egress', 'would-deny-443 ingress', 'would-open-8080 ingress']);
  });

  test('IPv4: 443 flows and counts as would-deny; 80 as would-allow; UDP 53 as no-match, exactly', async () => {
    const before = await counts();
    const enforcedBefore = await enforcedAllowTcp();
    const gw = s.addr.gw.eth1.v4;
    const ok = await probe([...times(5, { kind: 'tcp', host: gw, port: 443 }), ...times(3, { kind: 'tcp', host: gw, port: 80 }), ...times(4, { kind: 'udp', host: gw, port: 53 })]);
    expect(ok).toEqual(Array(12).fill(true));
    const after = await counts();
    const a0 = before.get('would-deny-443 ingress');
    const a1 = after.get('would-deny-443 ingress');
    expect(pkts(a1, 'wouldDeny') - pkts(a0, 'wouldDeny')).toBe(5);
    expect(pkts(a1, 'wouldAllow') - pkts(a0, 'wouldAllow')).toBe(3);
    expect(pkts(a1, 'noMatch') - pkts(a0, 'noMatch')).toBe(4);
    // The other staged policy saw the same 12 new packets and matched none of them.
    const b0 = before.get('would-open-8080 ingress');
    const b1 = after.get('would-open-8080 ingress');
    expect(pkts(b1, 'noMatch') - pkts(b0, 'noMatch')).toBe(12);
    expect(pkts(b1, 'wouldAllow') - pkts(b0, 'wouldAllow')).toBe(0);
    // One new packet per connection: the enforced allow rule counted the same 8 SYNs.
    expect((await enforcedAllowTcp()) - enforcedBefore).toBe(8);
    // Replies are established connections: nothing counted on egress.
    expect(after.get('would-deny-443 egress')).toBeDefined();
    expect(pkts(after.get('would-deny-443 egress'), 'noMatch')).toBe(pkts(before.get('would-deny-443 egress'), 'noMatch'));
  });

  test('IPv6: 443 flows and counts as would-deny', async () => {
    const before = await counts();
    expect(await probe(times(2, { kind: 'tcp', host: s.addr.gw.eth1.v6, port: 443 }))).toEqual([true, true]);
    const after = await counts();
    expect(pkts(after.get('would-deny-443 ingress'), 'wouldDeny') - pkts(before.get('would-deny-443 ingress'), 'wouldDeny')).toBe(2);
  });

  test('a staged allow does not open what the enforced policy denies; it only counts', async () => {
    const before = await counts();
    expect(await probe(times(2, { kind: 'tcp', host: s.addr.gw.eth1.v4, port: 8080 }))).toEqual([false, false]);
    const after = await counts();
    // At least one SYN per attempt (a retransmission counts again).
    expect(pkts(after.get('would-open-8080 ingress'), 'wouldAllow') - pkts(before.get('would-open-8080 ingress'), 'wouldAllow')).toBeGreaterThanOrEqual(2);
    expect(pkts(after.get('would-deny-443 ingress'), 'noMatch') - pkts(before.get('would-deny-443 ingress'), 'noMatch')).toBeGreaterThanOrEqual(2);
  });

  test('an apply that changes only the enforced policy keeps the staged counts', async () => {
    const before = await counts();
    const wider = ENFORCED.replace('[443,80]', '[443,80,8443]');
    expect(wider).not.toBe(ENFORCED);
    expect(await tw.enforcer.enforce(renderYaml(yaml(HEP, wider, STAGED_V2, STAGED_OPEN)))).toBe(true);
    expect(tw.enforcer.writes[tw.enforcer.writes.length - 1]!.kind).toBe('delta');
    expect(await counts()).toEqual(before);
    expect(pkts(before.get('would-deny-443 ingress'), 'wouldDeny')).toBeGreaterThan(0);
  });

  test('with the agent gone the kernel keeps counting (offline, cached: same counters)', async () => {
    tw.enforcer.stop();
    const before = await counts();
    expect(await probe(times(3, { kind: 'tcp', host: s.addr.gw.eth1.v4, port: 443 }))).toEqual([true, true, true]);
    const after = await counts();
    expect(pkts(after.get('would-deny-443 ingress'), 'wouldDeny') - pkts(before.get('would-deny-443 ingress'), 'wouldDeny')).toBe(3);
  });

  test('the agent, from a manifest folder, measures staged policies the same way', async () => {
    const base = await mkdtemp(join(tmpdir(), 'outpost-staged-'));
    try {
      const dir = join(base, 'resources');
      await Bun.write(join(dir, 'policy.yaml'), yaml(HEP, ENFORCED, STAGED_V2));
      const argv = [process.execPath, MAIN, 'agent', '--config', '/dev/null', '--node', 'gw', '--resources', dir, '--state', join(base, 'state'), '--once'];
      const r = await s.lab.exec('gw', argv, { reject: false, timeoutMs: 60_000 });
      expect(r.exitCode, `${r.stderr}\n${r.stdout}`).toBe(0);
      const before = await counts();
      expect([...before.keys()].sort()).toEqual(['would-deny-443 egress', 'would-deny-443 ingress']);
      expect(await probe([...times(2, { kind: 'tcp', host: s.addr.gw.eth1.v4, port: 443 }), { kind: 'tcp', host: s.addr.gw.eth1.v4, port: 80 }])).toEqual([true, true, true]);
      const after = await counts();
      const a0 = before.get('would-deny-443 ingress');
      const a1 = after.get('would-deny-443 ingress');
      expect(pkts(a1, 'wouldDeny') - pkts(a0, 'wouldDeny')).toBe(2);
      expect(pkts(a1, 'wouldAllow') - pkts(a0, 'wouldAllow')).toBe(1);
    } finally {
      await rm(base, { recursive: true, force: true });
    }
  });
});
