/**
 * StagedGlobalNetworkPolicy in a real etcd: `outpost apply` stores Calico's form at Calico's key
 * (stagedAction first, tier, types, tier label and name annotation), `get sgnp` reads it back,
 * a staged delete is stored without types, a bad stagedAction is refused before anything is
 * written, and what etcd holds decodes into a node plan that measures it.
 */
import { describe, expect, test } from 'bun:test';
import { useEtcdCliLab } from './etcd-cli-lab.ts';
import { decodeStored } from '../../src/datastore/calico-layout.ts';
import { validateResource, type Resource } from '../../src/model/index.ts';
import { computeNodePlan } from '../../src/calc/node-plan.ts';

const ROOT = '/calico/resources/v3/projectcalico.org';
const T = 30_000;
const lab = useEtcdCliLab('outpost-staged-');
const { run, file } = lab;

const HEP = `apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: gw-eth1, labels: {role: gw}}
spec: {node: gw, interfaceName: eth1}
`;
const STAGED = `apiVersion: projectcalico.org/v3
kind: StagedGlobalNetworkPolicy
metadata: {name: lock-down}
spec:
  stagedAction: Set
  selector: role == 'gw'
  ingress: [{action: Deny, protocol: TCP, destination: {ports: [443]}}]
`;

async function all(): Promise<{ key: string; value: string; modRevision: string }[]> {
  const r = await lab.etcd.etcdctl(['get', '--prefix', `${ROOT}/`, '-w', 'json']);
  const kvs = (JSON.parse(r.stdout) as { kvs?: { key: string; value: string; mod_revision: number }[] }).kvs ?? [];
  return kvs.map((kv) => ({ key: Buffer.from(kv.key, 'base64').toString('utf8'), value: Buffer.from(kv.value, 'base64').toString('utf8'), modRevision: String(kv.mod_revision) }));
}

describe('StagedGlobalNetworkPolicy with etcd', () => {
  test('apply stores Calico\'s form; get reads it back; the stored state plans a measured staged policy', async () => {
    const applied = await run('apply', ['-f', await file(`${HEP}---\n${STAGED}`)]);
    expect(applied.code, applied.err).toBe(0);
    const kvs = await all();
    const staged = kvs.find((kv) => kv.key === `${ROOT}/stagedglobalnetworkpolicies/lock-down`);
    expect(staged).toBeDefined();
    const v = JSON.parse(staged!.value);
    expect(v.kind).toBe('StagedGlobalNetworkPolicy');
    expect(Object.keys(v.spec)[0]).toBe('stagedAction');
    expect(v.spec).toEqual({ stagedAction: 'Set', tier: 'default', ingress: [{ action: 'Deny', protocol: 'TCP', destination: { ports: [443] } }], selector: "role == 'gw'", types: ['Ingress'] });
    expect(v.metadata.labels).toEqual({ 'projectcalico.org/tier': 'default' });

    const got = await run('get', ['sgnp', 'lock-down', '-o', 'yaml']);
    expect(got.code, got.err).toBe(0);
    expect(got.out).toContain('kind: StagedGlobalNetworkPolicy');
    expect(got.out).toContain('stagedAction: Set');
    const table = await run('get', ['stagedglobalnetworkpolicies']);
    expect(table.out).toMatch(/NAME\s+TIER\s+\n\s*lock-down\s+default/);

    // Read back as the relay reads etcd: key layout, then stored-mode validation, then the plan.
    const resources: Resource[] = [];
    for (const kv of kvs) {
      const d = decodeStored(kv);
      if (!d?.ok) continue;
      const r = validateResource(d.object, kv.key, { mode: 'stored' });
      if (r.ok) resources.push(r.resource);
    }
    const { plan } = computeNodePlan({ node: 'gw', resources });
    expect(plan.endpoints[0]!.staged).toEqual({ ingress: ['default/lock-down'], egress: [] });
    expect(plan.staged!.map((p) => p.key)).toEqual(['default/lock-down']);
  }, T);

  test('a staged delete is stored without types and measures nothing; a bad stagedAction writes nothing', async () => {
    const del = await run('apply', ['-f', await file('apiVersion: projectcalico.org/v3\nkind: StagedGlobalNetworkPolicy\nmetadata: {name: old-rule}\nspec: {stagedAction: Delete}\n')]);
    expect(del.code, del.err).toBe(0);
    const stored = (await all()).find((kv) => kv.key.endsWith('/stagedglobalnetworkpolicies/old-rule'));
    expect(JSON.parse(stored!.value).spec).toEqual({ stagedAction: 'Delete', tier: 'default' });

    const before = await all();
    const bad = await run('apply', ['-f', await file(STAGED.replace('stagedAction: Set', 'stagedAction: Remove').replace('lock-down', 'bad-one'))]);
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('spec.stagedAction: stagedAction must be one of Set, Delete, Learn, Ignore (got "Remove")');
    expect(await all()).toEqual(before);
  }, T);
});
