/**
 * The manifest corpus (test/corpus/manifests: every field of every kind outpost loads, in the
 * API's spelling and in other cases) goes validate → apply (real etcd) → get -o yaml →
 * validate, through the CLI as a user runs it, and every field must come back unchanged.
 *
 * Keys are compared ignoring case (the alternate-case file is read as Go's encoding/json
 * reads it); values exactly. What the server adds is allowed only where listed in EXTRA.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { startEtcd, type LabEtcd } from '../lab/etcd.ts';
import { knownFieldPaths } from '../../src/model/decode.ts';
import { FELIX_UNIMPLEMENTED_FIELDS } from '../../src/model/felix-fields.ts';
import { ResourceSchema } from '../../src/model/resource.ts';

const T = 60_000;
const REPO = join(import.meta.dir, '..', '..');
const CORPUS = join(import.meta.dir, 'manifests');
let etcd: LabEtcd;
let dir: string;

beforeAll(async () => {
  etcd = await startEtcd();
  dir = await mkdtemp(join(tmpdir(), 'outpost-corpus-'));
});
afterAll(async () => {
  await etcd?.destroy();
  if (dir) await rm(dir, { recursive: true, force: true });
});
beforeEach(async () => {
  await etcd.etcdctl(['del', '--prefix', '/calico/']);
});

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const p = Bun.spawn(['bun', 'src/main.ts', ...args], { cwd: REPO, stdout: 'pipe', stderr: 'pipe', env: { ...process.env, OUTPOST_ETCD_ENDPOINTS: '' } });
  const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text()]);
  return { code: await p.exited, out, err };
}

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);

/** Every leaf as "path (lower-cased keys) → value"; empty maps and lists are leaves too. */
function leaves(x: unknown, path = '', out = new Map<string, unknown>()): Map<string, unknown> {
  if (isObj(x) && Object.keys(x).length > 0) {
    for (const [k, v] of Object.entries(x)) leaves(v, `${path}.${k.toLowerCase()}`, out);
  } else if (Array.isArray(x) && x.length > 0) {
    x.forEach((v, i) => leaves(v, `${path}[${i}]`, out));
  } else out.set(path, x);
  return out;
}

/** The resources of a manifest or of get's output (several print as a YAML list), by kind/namespace/name. */
function byName(text: string): Map<string, Map<string, unknown>> {
  const docs = parseAllDocuments(text).map((d) => d.toJS() as unknown);
  const items = docs.flatMap((d) => (Array.isArray(d) ? d : isObj(d) && d['kind'] === 'List' ? (d['items'] as unknown[]) : [d]));
  const out = new Map<string, Map<string, unknown>>();
  for (const item of items) {
    const l = leaves(item);
    const kind = l.get('.kind') as string;
    out.set(`${kind}/${String(l.get('.metadata.namespace') ?? '')}/${String(l.get('.metadata.name'))}`, l);
  }
  return out;
}

/** Fields the server adds (Calico's clientv3/CRD defaults and bookkeeping): allowed in get's output only. */
const EXTRA: readonly RegExp[] = [
  /^\.metadata\.(uid|creationtimestamp|resourceversion)$/,
  /^\.status$/, // Tier's empty status, as calicoctl prints it
  /^\.metadata\.labels\.projectcalico\.org\/tier$/, // GlobalNetworkPolicy: its tier, as a label
  /^\.spec\.(floatingips|bpfconnecttimeloadbalancing|bpfhostnetworkednatwithoutctlb|bpfloglevel|nftablesmode|nftablesflowtableoffload)$/, // FelixConfiguration defaults
];

const FILES = ['canonical.yaml', 'alternate-case.yaml'];

describe('manifest corpus: validate → apply → get -o yaml → validate', () => {
  for (const name of FILES) {
    test(`${name}: every field round-trips`, async () => {
      const file = join(CORPUS, name);
      const input = byName(await Bun.file(file).text());
      expect(input.size).toBeGreaterThanOrEqual(9);

      const validated = await cli('validate', '-f', file);
      expect(validated.err).not.toContain('unknown field');
      expect(validated.code).toBe(0);

      const applied = await cli('apply', '-f', file, '--etcd', etcd.url);
      expect(applied.err.split('\n').filter((l) => l !== '' && !l.startsWith('warning: '))).toEqual([]);
      expect(applied.out).toContain(`Successfully applied ${input.size} resource(s)`);
      expect(applied.code).toBe(0);

      const got = await cli('get', '-f', file, '-o', 'yaml', '--etcd', etcd.url);
      expect(got.err.split('\n').filter((l) => l !== '' && !l.startsWith('warning: '))).toEqual([]);
      expect(got.code).toBe(0);
      const back = join(dir, `back-${name}`);
      await writeFile(back, got.out);
      const revalidated = await cli('validate', '-f', back);
      expect(revalidated.err).not.toContain('unknown field');
      expect(revalidated.code).toBe(0);

      const output = byName(got.out);
      expect([...output.keys()].sort()).toEqual([...input.keys()].sort());
      const changed: string[] = [];
      for (const [key, fields] of input) {
        const out = output.get(key)!;
        for (const [path, value] of fields) {
          if (!out.has(path)) changed.push(`${key} ${path}: missing (was ${JSON.stringify(value)})`);
          else if (!Bun.deepEquals(out.get(path), value)) changed.push(`${key} ${path}: ${JSON.stringify(value)} → ${JSON.stringify(out.get(path))}`);
        }
        for (const path of out.keys()) {
          if (!fields.has(path) && !EXTRA.some((re) => re.test(path))) changed.push(`${key} ${path}: added (${JSON.stringify(out.get(path))})`);
        }
      }
      expect(changed).toEqual([]);
    }, T);
  }

  // Fields the corpus leaves out on purpose: metadata that servers and controllers write, a
  // Tier's status, the kind outpost only reads from a cluster, and Felix fields beyond a sample
  // (each unimplemented one is handled the same way).
  const NOT_IN_CORPUS: readonly RegExp[] = [
    /^[A-Za-z]+:metadata\.(generateName|selfLink|uid|resourceVersion|generation|creationTimestamp|deletionTimestamp|deletionGracePeriodSeconds|ownerReferences|finalizers|managedFields)(\W|$)/,
    /^Tier:status(\W|$)/,
    /^(?!NetworkSet:)[A-Za-z]+:metadata\.namespace$/, // global kinds have no namespace
    /^WorkloadEndpoint:/,
    new RegExp(`^FelixConfiguration:spec\\.(${FELIX_UNIMPLEMENTED_FIELDS.filter((f) => !['bpfEnabled', 'logSeverityScreen', 'routeTableRange', 'healthTimeoutOverrides', 'iptablesBackend'].includes(f)).join('|')})$`),
  ];

  // One Rule schema serves ingress and egress of policies and profiles: its fields count once.
  // A staged policy is a GlobalNetworkPolicy (plus stagedAction): its fields count once too.
  const asRule = (p: string) => p.replace(/^StagedGlobalNetworkPolicy:(?!spec\.stagedAction)/i, 'GlobalNetworkPolicy:').replace(/^(GlobalNetworkPolicy|Profile):spec\.(ingress|egress)\[\]/i, 'Rule:');

  test('the corpus sets every field the schemas know', async () => {
    const present = new Set<string>();
    for (const [key, fields] of byName(await Bun.file(join(CORPUS, FILES[0]!)).text())) {
      const kind = key.slice(0, key.indexOf('/'));
      for (const path of fields.keys()) {
        // ".spec.ingress[0].source.nets[1]" → "spec.ingress[].source.nets" and every prefix of it.
        const parts = path.slice(1).replace(/\[\d+\]/g, '[]').split('.');
        for (let i = 1; i <= parts.length; i++) present.add(asRule(`${kind}:${parts.slice(0, i).join('.').replace(/\[\]$/, '')}`).toLowerCase());
      }
    }
    const missing = knownFieldPaths(ResourceSchema)
      .filter((p) => !NOT_IN_CORPUS.some((re) => re.test(p)))
      .filter((p) => !present.has(asRule(p).toLowerCase()));
    expect(missing).toEqual([]);
  });

  test('both spellings hold the same resources and fields', async () => {
    const a = byName(await Bun.file(join(CORPUS, FILES[0]!)).text());
    const b = byName(await Bun.file(join(CORPUS, FILES[1]!)).text());
    expect([...b.keys()]).toEqual([...a.keys()]);
    for (const [key, fields] of a) expect([...b.get(key)!.keys()].sort()).toEqual([...fields.keys()].sort());
  });

  test('apply stores the kinds outpost manages and says which Calico kinds it did not store', async () => {
    const file = join(dir, 'mixed.yaml');
    await writeFile(
      file,
      `apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: np, namespace: prod}
spec: {selector: all()}
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {name: peer1}
spec: {peerIP: 198.18.0.9, asNumber: 64512}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkSet
metadata: {name: office}
spec: {nets: [198.18.8.0/24]}
`,
    );
    const r = await cli('apply', '-f', file, '--etcd', etcd.url);
    expect(r.code).toBe(0);
    expect(r.out).toContain("Successfully applied 1 'GlobalNetworkSet' resource(s)");
    expect(r.err).toContain(`not stored: ${file}: NetworkPolicy 'prod/np', BGPPeer 'peer1' (Calico kinds outpost does not manage; use calicoctl for them)`);
    const keys = (await etcd.etcdctl(['get', '--prefix', '/calico/', '--keys-only'])).stdout.split('\n').filter((k) => k !== '');
    expect(keys.filter((k) => !k.includes('/tiers/'))).toEqual(['/calico/resources/v3/projectcalico.org/globalnetworksets/office']);
  }, T);
});
