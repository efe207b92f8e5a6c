/**
 * The incremental table writer with real packets: membership and policy changes applied as
 * deltas are enforced (a member added to an allowed set lets its packets through, removed they
 * are dropped; hosts and prefixes, IPv4 and IPv6), and like an attacker: someone else's rule
 * inserted into our chain between two updates, our set flushed by someone else, nft refusing a
 * delta (a bad element) — the previous ruleset stays in force and the next apply re-creates.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { standardLab, type StandardLab } from '../lab/lab.ts';
import { isRoot } from './harness.ts';
import { enforcerIn, lastRendered, normalisedTable, renderYaml, resource } from './table-writer-lab.ts';
import { explainMismatches, provenView, stampInForce } from '../lab/explain-check.ts';
import { startDriftWatch } from '../../src/agent/drift-watch.ts';
import { resultOf } from '../../src/render/ruleset.ts';
import type { Enforcer } from '../../src/agent/enforcer.ts';

const C1 = '198.18.1.2';
const C1_6 = 'fd00:1::2';
const GW = '198.18.1.1';
const GW6 = 'fd00:1::1';

function yaml(clients: string[], port = 443): string {
  return [
    resource('HostEndpoint', 'gw-eth1', { node: 'gw', interfaceName: 'eth1', profiles: [] }, { role: 'gw' }),
    resource('GlobalNetworkSet', 'clients', { nets: clients }, { kind: 'clients' }),
    resource('GlobalNetworkPolicy', 'web', {
      selector: `role == 'gw'`,
      ingress: [
        { action: 'Allow', protocol: 'TCP', source: { selector: `kind == 'clients'` }, destination: { ports: [port] } },
        { action: 'Allow', protocol: 'TCP', destination: { ports: [80] } },
        // IPv6 neighbour discovery, both ways.
        { action: 'Allow', protocol: 'ICMPv6' },
      ],
      egress: [{ action: 'Allow', protocol: 'ICMPv6' }],
    }),
  ].join('\n---\n');
}

let s: StandardLab;
const reach = async (port: number, host = GW) => s.lab.tcp('c1', host, port, { timeoutMs: 1500 });
const kinds = (e: Enforcer) => e.writes.map((w) => `${w.kind}${w.ok ? '' : ' failed'}`);
const nft = (...args: string[]) => s.lab.exec('gw', ['nft', ...args], { reject: false });
const clientSet = async () => (await nft('list', 'sets', 'inet')).stdout.match(/set (s-[A-Za-z0-9_-]+-4) /)?.[1];

describe.skipIf(!isRoot)('table writer with packets', () => {
  beforeAll(async () => {
    s = await standardLab();
    // Verdict = packet: each probe is checked against explain on the plan last rendered, once proven in force.
    s.lab.enforcedFingerprint = () => stampInForce(s.lab, 'gw');
    s.lab.afterProbe = async (from, probes, results) => explainMismatches(await provenView(s.lab, 'gw', lastRendered), s, from, probes, results);
    await s.lab.startResponder('gw', { tcp: [80, 443, 8080] });
  });
  afterAll(async () => {
    await s?.lab.destroy();
  });

  test('members and policy changed by deltas are enforced', async () => {
    await nft('delete', 'table', 'inet', 'outpost');
    const { enforcer } = await enforcerIn(s.lab, 'gw');
    const step = async (clients: string[], port = 443) => {
      expect(await enforcer.enforce(renderYaml(yaml(clients, port)))).toBe(true);
      return kinds(enforcer).at(-1);
    };
    expect(await step(['198.18.50.1/32'])).toBe('full');
    expect([await reach(443), await reach(80)]).toEqual([false, true]);
    expect(await step(['198.18.50.1/32', `${C1}/32`])).toBe('delta');
    expect(await reach(443)).toBe(true);
    expect(await step(['198.18.50.1/32'])).toBe('delta');
    expect(await reach(443)).toBe(false);
    expect(await step(['198.18.50.1/32', `${C1_6}/128`])).toBe('delta');
    expect([await reach(443, GW6), await reach(443)]).toEqual([true, false]);
    // The prefix part turns non-empty: the policy chain gets its copy of the rule.
    expect(await step(['198.18.50.1/32', '198.18.1.0/24'])).toBe('delta');
    expect([await reach(443), await reach(443, GW6)]).toEqual([true, false]);
    expect(await step(['198.18.50.1/32', '198.18.1.0/24'], 8080)).toBe('delta');
    expect([await reach(8080), await reach(443), await reach(80)]).toEqual([true, false, true]);
    // The same desired table re-created from scratch lets the same packets through.
    const probe = async () => [await reach(8080), await reach(443), await reach(80), await reach(8080, GW6), await reach(80, GW6)];
    const byDelta = await probe();
    expect(byDelta).toEqual([true, false, true, false, true]);
    expect(await enforcer.reapply()).toBe(true);
    expect(kinds(enforcer).at(-1)).toBe('full');
    expect(await probe()).toEqual(byDelta);
    expect(await step([])).toBe('delta');
    expect([await reach(8080), await reach(80)]).toEqual([false, true]);
    expect(kinds(enforcer).filter((k) => k.includes('failed'))).toEqual([]);
    enforcer.stop();
  });

  test("someone else's rule in our chain between two deltas is removed (drift watch, and the audit without it)", async () => {
    await nft('delete', 'table', 'inet', 'outpost');
    const { enforcer, nft: bin, log, said } = await enforcerIn(s.lab, 'gw');
    expect(await enforcer.enforce(renderYaml(yaml(['198.18.50.1/32'])))).toBe(true);
    const drift = startDriftWatch({ nft: bin, target: enforcer, log });
    try {
      // The monitor needs a moment to start; the audit it runs at start finds nothing.
      await Bun.sleep(1500);
      expect(said.filter((x) => x.level !== 'info')).toEqual([]);
      expect((await nft('insert', 'rule', 'inet', 'outpost', 'filter-input', 'accept')).stderr).toBe('');
      const until = Date.now() + 5000;
      while (!said.some((x) => /edited by someone else.*; restored/.test(x.msg)) && Date.now() < until) await Bun.sleep(50);
      expect(said.map((x) => x.msg)).toContainEqual(expect.stringMatching(/insert rule inet outpost filter-input accept.*; restored/));
      expect(await reach(443)).toBe(false);
      // Our own delta afterwards is not taken for drift.
      const restores = said.filter((x) => /restored/.test(x.msg)).length;
      expect(await enforcer.enforce(renderYaml(yaml(['198.18.50.1/32', `${C1}/32`])))).toBe(true);
      expect(kinds(enforcer).at(-1)).toBe('delta');
      await Bun.sleep(1000);
      expect(said.filter((x) => /restored/.test(x.msg)).length).toBe(restores);
      expect(await reach(443)).toBe(true);
    } finally {
      await drift.stop();
    }
    // No monitor: a rule slipped into a policy chain survives deltas that do not touch that chain,
    // until the audit finds it.
    const chain = (await nft('list', 'chains', 'inet')).stdout.match(/chain (pi-web) /)?.[1];
    expect(chain).toBe('pi-web');
    expect((await nft('insert', 'rule', 'inet', 'outpost', chain!, 'tcp', 'dport', '8080', 'meta', 'mark', 'set', 'meta', 'mark', 'or', '0x10000', 'return')).stderr).toBe('');
    expect(await enforcer.enforce(renderYaml(yaml([`${C1}/32`])))).toBe(true);
    expect(await reach(8080)).toBe(true);
    const problems = await enforcer.audit();
    const extra = problems.map((p) => /^chain pi-web has (\d+) rules, expected (\d+)$/.exec(p)).find(Boolean);
    expect(Number(extra?.[1]) - Number(extra?.[2])).toBe(1);
    expect(await reach(8080)).toBe(false);
    expect(await reach(443)).toBe(true);
    expect(kinds(enforcer).at(-1)).toBe('full');
    // A newer stamp generation written by someone else: the structure is intact (the stamp set's
    // size is not part of it), only the audit's stamp check sees it.
    expect((await nft('add', 'element', 'inet', 'outpost', 'stamp', '{ 255.255.255.0 comment "not ours" }')).stderr).toBe('');
    expect(await enforcer.audit()).toEqual([expect.stringMatching(/^stamp is not ours, expected [0-9a-f]{64}$/)]);
    expect(kinds(enforcer).slice(-2)).toEqual(['full', 'full']);
    expect(await enforcer.audit()).toEqual([]);
    enforcer.stop();
  });

  test('our set flushed by someone else: the next delta fails, a full re-create follows at once', async () => {
    await nft('delete', 'table', 'inet', 'outpost');
    const { enforcer, said } = await enforcerIn(s.lab, 'gw');
    expect(await enforcer.enforce(renderYaml(yaml(['198.18.50.1/32', `${C1}/32`])))).toBe(true);
    expect(await reach(443)).toBe(true);
    const set = await clientSet();
    expect((await nft('flush', 'set', 'inet', 'outpost', set!)).stderr).toBe('');
    expect(await reach(443)).toBe(false);
    // Removing 198.18.50.1 from a set that no longer holds it: nft refuses the delta.
    expect(await enforcer.enforce(renderYaml(yaml([`${C1}/32`])))).toBe(true);
    expect(kinds(enforcer).slice(-2)).toEqual(['delta failed', 'full']);
    expect(said.map((x) => x.msg)).toContain('incremental ruleset update failed; re-creating the table');
    expect(await reach(443)).toBe(true);
    enforcer.stop();
  });

  test('nft refuses a delta (bad element): the previous ruleset stays, the next apply re-creates', async () => {
    await nft('delete', 'table', 'inet', 'outpost');
    const { enforcer } = await enforcerIn(s.lab, 'gw', { backoff: { initialMs: 60_000, maxMs: 60_000 } });
    const good = renderYaml(yaml([`${C1}/32`]));
    expect(await enforcer.enforce(good)).toBe(true);
    const before = await normalisedTable(s.lab, 'gw');
    const bad = resultOf({
      sets: good.table.sets.map((x) => (x.kind === 'host' && x.family === 4 ? { ...x, members: [...x.members, '198.18.300.1/32'] } : x)),
      chains: good.table.chains,
    });
    expect(await enforcer.enforce(bad)).toBe(false);
    expect(kinds(enforcer).slice(-2)).toEqual(['delta failed', 'full failed']);
    expect(enforcer.upToDate).toBe(false);
    expect(await normalisedTable(s.lab, 'gw')).toBe(before);
    expect(await reach(443)).toBe(true);
    expect(await enforcer.enforce(renderYaml(yaml([])))).toBe(true);
    expect(kinds(enforcer).at(-1)).toBe('full');
    expect(await reach(443)).toBe(false);
    enforcer.stop();
  });
});
