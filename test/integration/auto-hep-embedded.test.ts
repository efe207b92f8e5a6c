/**
 * Auto host endpoints on the relay's embedded broker with its defaults (mTLS, per-node ACL): the
 * agent's report on its own topic is written as `n1-auto-hep`; a node publishing a report on
 * another node's topic is stopped by the broker, so it can never write (or label) another
 * node's host endpoint. Certificates from scripts/pki.sh, etcd real.
 *
 *   n1 (agent, CN n1) eth0 198.18.44.2 ──── eth0 198.18.44.1 hub (etcd, relay with --listen :8884)
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { Lab, type LabProcess } from '../lab/lab.ts';
import { NamespacedEtcd } from '../lab/namespaced-etcd.ts';
import { isRoot, MAIN } from './harness.ts';
import { logLines, waitLog } from './sync-harness.ts';
import { generateSigningKeyPair, privateKeyToPem, publicKeyToPem } from '../../src/platform/signing.ts';
import { hepInEtcd, pollerWithLogs } from './auto-hep-lab.ts';
import { PKI_SH as PKI, pkiFiles, tlsSession } from './mtls-lab.ts';

const HUB = '198.18.44.1';
const N1 = '198.18.44.2';
const URL = `mqtts://${HUB}:8884`;
const interfaces = (n: string) => `outpost/v1/nodes/${n}/interfaces`;

let lab: Lab;
let dir: string;
let pki: string;
let etcd: NamespacedEtcd;
let relay: LabProcess;
let agent: LabProcess;

const tlsOf = (who: string) => pkiFiles(pki, who);

const getHep = (name: string) => hepInEtcd(lab, etcd.url, name);
const until = pollerWithLogs(() => ({ relay, agent }));

/** One MQTT session as node `who` (its certificate) from the hub, publishing one retained report. */
async function publishAs(who: string, topic: string, report: unknown): Promise<{ acked: boolean }[]> {
  const plan = { url: URL, ...tlsOf(who), clientId: `probe-${who}-${Date.now()}`, publish: [{ topic, payload: JSON.stringify(report), retain: true }] };
  const out = await tlsSession(lab, plan);
  if (!out.connected) throw new Error(`session as ${who} did not connect: ${out.error}`);
  return out.published;
}

describe.skipIf(!isRoot)('auto host endpoints on the embedded broker (mTLS, per-node ACL)', () => {
  beforeAll(async () => {
    lab = await Lab.create();
    dir = await mkdtemp(join(tmpdir(), 'outpost-auto-hep-mtls-'));
    pki = join(dir, 'pki');
    await lab.addHost('hub');
    await lab.addHost('n1');
    await lab.link('n1', 'eth0', [`${N1}/24`], 'hub', 'eth0', [`${HUB}/24`]);
    await execa(PKI, ['--dir', pki, 'ca']);
    await execa(PKI, ['--dir', pki, 'relay', '--san', `IP:${HUB},IP:127.0.0.1`]);
    await execa(PKI, ['--dir', pki, 'node', 'n1', 'n2']);
    const keys = generateSigningKeyPair();
    await writeFile(join(dir, 'relay.key'), privateKeyToPem(keys.privateKey), { mode: 0o600 });
    await writeFile(join(dir, 'relay.pub'), publicKeyToPem(keys.publicKey));
    etcd = await NamespacedEtcd.start(lab, 'hub', dir);
    relay = lab.spawn('hub', [
      process.execPath, MAIN, 'relay', '--config', '/dev/null', '--etcd', etcd.url, '--listen', `${HUB}:8884`, '--signing-key', join(dir, 'relay.key'),
      '--broker-ca', join(pki, 'ca.crt'), '--broker-cert', join(pki, 'relay.crt'), '--broker-key', join(pki, 'relay.key'), '--auto-host-endpoints',
    ]);
    await waitLog(relay, (l) => /auto host endpoints: reading interfaces reports/.test(l.msg), 30_000);
    const t = tlsOf('n1');
    agent = lab.spawn('n1', [
      process.execPath, MAIN, 'agent', '--config', '/dev/null', '--node', 'n1', '--broker', URL, '--broker-ca', t.ca, '--broker-cert', t.cert, '--broker-key', t.key,
      '--trust-key', join(dir, 'relay.pub'), '--state', join(dir, 'state-n1'), '--auto-host-endpoint', '--auto-host-endpoint-labels', 'site=north',
    ]);
  }, 60_000);

  afterAll(async () => {
    await lab?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('the agent\'s report on its own topic becomes n1-auto-hep', async () => {
    const hep = await until('n1-auto-hep to be written', () => getHep('n1-auto-hep'), (h) => h !== undefined);
    expect(hep['spec']).toEqual({ node: 'n1', interfaceName: '*', expectedIPs: [N1], profiles: ['projectcalico-default-allow'] });
    expect(hep['metadata']['labels']).toEqual({ site: 'north', 'projectcalico.org/created-by': 'outpost-relay' });
  }, 60_000);

  test('node n1 cannot publish a report on n2\'s topic: only n2 itself writes n2-auto-hep', async () => {
    const forged = { version: 1, node: 'n2', interfaces: [{ name: 'eth0', addresses: ['198.18.44.66'] }], labels: { role: 'db' } };
    await publishAs('n1', interfaces('n2'), forged);
    // n2's own report, after the forged one: had the forgery passed, n2-auto-hep would first be written from it.
    const genuine = { version: 1, node: 'n2', interfaces: [{ name: 'eth0', addresses: ['198.18.44.3'] }], labels: { site: 'south' } };
    const own = await publishAs('n2', interfaces('n2'), genuine);
    expect(own).toEqual([{ topic: interfaces('n2'), acked: true }] as never);
    const hep = await until('n2-auto-hep to be written', () => getHep('n2-auto-hep'), (h) => h !== undefined);
    expect(hep['spec']['expectedIPs']).toEqual(['198.18.44.3']);
    expect(hep['metadata']['labels']).toEqual({ site: 'south', 'projectcalico.org/created-by': 'outpost-relay' });
    const writes = logLines(relay).filter((l) => l.node === 'n2' && /^auto host endpoint (created|updated)/.test(l.msg));
    expect(writes.map((l) => [l.msg, l['expectedIPs']])).toEqual([['auto host endpoint created', ['198.18.44.3']]]);
  }, 60_000);
});
