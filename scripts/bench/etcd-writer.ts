/**
 * The etcd-to-enforcement benchmark's writer. It runs inside the lab's hub namespace, where etcd
 * listens on loopback, so the parent (in the root namespace) cannot reach etcd itself. It talks
 * to the parent over a Unix socket, which namespaces do not separate.
 *
 * At start it puts every seed key (the policy set, already in Calico's stored form) and prints
 * "ready". Then each `GET /change?port=N` does one real write: the changing policy with port N,
 * encoded like Calico's client would store it, one `POST /v3/kv/put` to etcd's JSON gateway.
 * The clock starts just before that request; the answer carries the etcd revision it created,
 * which is how the parent finds the agent's matching "ruleset in force" line.
 *
 * usage: bun etcd-writer.ts ETCD_URL SOCKET SEED_JSON
 */
import { readFileSync } from 'node:fs';
import { encodeForStorage } from '../../src/datastore/calico-layout.ts';
import { parseManifest } from '../../src/model/manifest.ts';
import { changingPolicy } from './policy-set.ts';

const [etcd, socket, seedFile] = process.argv.slice(2) as [string, string, string];
const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const CTX = { uid: '6d1c3b2e-0000-4000-8000-00000000bench', now: new Date('2026-01-01T00:00:00Z') };
/** Epoch ms with sub-ms precision, comparable with the parent's (same clock). */
const now = () => performance.timeOrigin + performance.now();

async function put(key: string, value: string): Promise<string> {
  const res = await fetch(`${etcd}/v3/kv/put`, { method: 'POST', body: JSON.stringify({ key: b64(key), value: b64(value) }) });
  const body = (await res.json()) as { header?: { revision?: string } };
  if (!res.ok || !body.header?.revision) throw new Error(`put ${key}: HTTP ${res.status} ${JSON.stringify(body)}`);
  return body.header.revision;
}

function encodeChange(port: number): { key: string; value: string } {
  const parsed = parseManifest(JSON.stringify(changingPolicy(port)), 'bench');
  const r = parsed.resources[0];
  if (!r || parsed.errors.length) throw new Error(`changing policy invalid: ${JSON.stringify(parsed.errors)}`);
  const enc = encodeForStorage(r, 'create', CTX);
  if (!enc.ok) throw new Error(`${enc.path}: ${enc.message}`);
  return enc;
}

for (const { key, value } of JSON.parse(readFileSync(seedFile, 'utf8')) as { key: string; value: string }[]) await put(key, value);

Bun.serve({
  unix: socket,
  async fetch(req) {
    const port = Number(new URL(req.url).searchParams.get('port'));
    try {
      // Encoding is the client's work before the request, not part of the measured path.
      const { key, value } = encodeChange(port);
      const t0 = now();
      const revision = await put(key, value);
      return Response.json({ t0, t1: now(), revision });
    } catch (e) {
      return new Response((e as Error).message, { status: 500 });
    }
  },
});
console.log('ready');
