/**
 * Rotating the relay's signing key without an outage, end to end: a real relay (folder
 * datastore), real Mosquitto, a real agent in gw, real packets from c1 sampled all along.
 *
 *   1. relay signs with the old key; the agent trusts the old key;
 *   2. the agent is restarted trusting old + new;
 *   3. the relay is restarted with the new key; a change is published, signed by the new key, applied;
 *   4. the agent is restarted trusting only the new key (boots from its cache, signed by the new key);
 *   5. a snapshot signed by the removed old key, with a higher revision, is refused.
 * Throughout, the policy in force never lapses: port 80 stays open and port 443 stays closed.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdirSync, writeFileSync } from 'node:fs';
import { computeNodePlan } from '../../src/calc/node-plan.ts';
import { parseManifest } from '../../src/model/manifest.ts';
import { decodeSnapshotHeader, encodeSnapshot } from '../../src/protocol/snapshot.ts';
import { keyId } from '../../src/protocol/key-id.ts';
import { snapshotTopic } from '../../src/protocol/topics.ts';
import { publicKeyToPem } from '../../src/platform/signing.ts';
import { MAIN, isRoot } from './harness.ts';
import { gnp, hep } from './fixtures.ts';
import { SyncLab, inForce, logLines, waitLog } from './sync-harness.ts';
import type { LabProcess } from '../lab/lab.ts';

const GW1 = '198.18.1.1';
const TOPIC = snapshotTopic('outpost/v1', 'gw');
let h: SyncLab;

const site = (ports: number[]) =>
  hep('gw-eth1', { iface: 'eth1', node: 'gw', labels: { role: 'web' } }) + gnp('web', `selector: role == 'web'\ningress: [{action: Allow, protocol: TCP, destination: {ports: ${JSON.stringify(ports)}}}]`);

function writeSite(ports: number[], when: string): void {
  const res = h.path('res');
  mkdirSync(res, { recursive: true });
  writeFileSync(`${res}/site.yaml`, site(ports));
  Bun.spawnSync(['touch', '-d', when, `${res}/site.yaml`, res]);
}

describe.skipIf(!isRoot)('relay key rotation without an outage', () => {
  beforeAll(async () => {
    h = await SyncLab.create({ etcd: false });
    writeFileSync(h.path('new.pub'), publicKeyToPem(h.keys.other.publicKey));
  });
  afterAll(async () => {
    await h?.destroy();
  });

  test('old key → old+new on agents → relay on the new key → old key removed; a snapshot signed by the removed key is refused', async () => {
    writeSite([80], '2026-01-01T00:00:00Z');
    const relayArgs = ['--resources', h.path('res'), '--state', h.path('relay-state')];
    const agentWith = (keys: string[]) => h.lab.spawn('gw', [process.execPath, ...agentArgv(keys)]);
    const agentArgv = (keys: string[]) => [MAIN, 'agent', '--config', '/dev/null', '--node', 'gw', '--broker', 'mqtt://198.18.4.2:1883', ...keys.flatMap((k) => ['--trust-key', h.path(k)]), '--state', h.path('state-gw')];
    let relay = h.relay(relayArgs);
    let agent: LabProcess = agentWith(['relay.pub']);
    await waitLog(agent, inForce());
    expect(await h.tcp('c1', GW1, 80)).toBe(true);
    expect(await h.tcp('c1', GW1, 443)).toBe(false);

    // Sampled all along: an outage (no table, or the policy gone) shows up as 443 open or 80 closed.
    const samples: { p80: boolean; p443: boolean }[] = [];
    let sampling = true;
    const sample = async () => {
      const [p80, p443] = await Promise.all([h.tcp('c1', GW1, 80), h.tcp('c1', GW1, 443)]);
      samples.push({ p80, p443 });
    };
    const sampler = (async () => {
      while (sampling) {
        await sample();
        await Bun.sleep(100);
      }
    })();

    // 2. Every agent trusts both keys (a restart: the kernel keeps the ruleset meanwhile).
    await agent.stop();
    await sample(); // no agent running at all
    agent = agentWith(['relay.pub', 'new.pub']);
    await waitLog(agent, inForce());

    // 3. The relay switches to the new key; the next change is signed by it and applied.
    await relay.stop();
    await sample(); // no relay running
    relay = h.relay(relayArgs, 'other.key');
    writeSite([80, 8080], '2026-02-01T00:00:00Z');
    const applied = await waitLog(agent, (l) => l.msg === 'ruleset in force' && l['from'] === 'relay' && BigInt(String(l['revision'])) > 1767225600000000n, 20_000);
    const retained = await h.retained(TOPIC);
    const signer = decodeSnapshotHeader(retained!, { publicKey: h.keys.other.publicKey, node: 'gw' });
    expect(signer.ok && signer.header.keyId).toBe(keyId(h.keys.other.publicKey));

    // 4. The old key is removed from the agent; it boots from its cache (signed by the new key).
    await agent.stop();
    await sample();
    agent = agentWith(['new.pub']);
    const boot = await waitLog(agent, inForce());
    expect(boot['revision']).toBe(applied['revision']);
    expect(boot['from']).toBe('cache');

    // 5. A snapshot signed by the removed key, newer and opening 443: refused, nothing moves.
    const { resources } = parseManifest(site([80, 443]), 'forged');
    const forged = encodeSnapshot({ node: 'gw', revision: '9000000000000000000', plan: computeNodePlan({ node: 'gw', resources }).plan, issuedAt: Date.now() }, h.keys.relay.privateKey);
    const before = logLines(agent).length;
    await h.publish(TOPIC, forged);
    const refusal = await waitLog(agent, (l) => l.msg.startsWith('snapshot refused'), 10_000, before);
    expect(refusal['reason']).toBe('bad-signature');
    expect(refusal.msg).toContain(keyId(h.keys.relay.publicKey));
    await Bun.sleep(500);

    sampling = false;
    await sampler;
    await agent.stop();
    await relay.stop();
    expect(samples.length).toBeGreaterThan(5);
    expect(samples.filter((s) => !s.p80 || s.p443)).toEqual([]);
  }, 120_000);
});
