/**
 * `outpost bundle`: signed offline bundles for air-gapped sites.
 *
 * - export: a node's snapshot exactly as the relay would publish it (same closure computation,
 *   same datastore revision, same encoder and key, so the same bytes), as a file. `--all` writes
 *   `<out-dir>/<node>.bundle` for every node with a host endpoint: the layout the agent's drop
 *   folder (`bundleDir`) reads, so one USB stick can carry a whole site.
 * - verify: checks a bundle against trusted public keys (and a node) and says what it holds.
 * - import (on the host, with the agent's own configuration): verified first, then
 *   - agent running (it holds the state-dir lock): handed to it through its inbox
 *     (`<state>/inbox`, bundle-drop.ts); the agent applies it through the path MQTT snapshots
 *     take and writes its verdict back, which is printed;
 *   - agent not running: stored in the agent's SQLite cache under the state-dir lock, with the
 *     agent's revision rule (never older than the snapshot held); the agent enforces it from
 *     the cache when it starts, before any network.
 *   An explicit import is the one source exempt from the snapshot age rule.
 */
import { parseArgs } from 'node:util';
import { existsSync, mkdirSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes, type KeyObject } from 'node:crypto';
import { loadPrivateKey, loadPublicKeys, writeFileAtomic } from '../platform/signing.ts';
import { createLogger } from '../platform/logger.ts';
import { claimedNode, decodeSnapshot, encodeSnapshot, revisionVerdict, type DecodeResult } from '../protocol/snapshot.ts';
import { computeClosures } from '../relay/closures.ts';
import type { DatastoreSource, DatastoreState } from '../datastore/source.ts';
import { BUNDLE_SUFFIX, BundleVerdictSchema, RESULT_SUFFIX, inboxOf, readBounded, writeByRename, type BundleVerdict } from '../agent/bundle-drop.ts';
import * as v from 'valibot';
import { lockStateDir } from '../agent/state-lock.ts';
import { SnapshotCache } from '../cache/snapshot-cache.ts';
import { loadAgentConfig } from './agent-command.ts';
import { UsageError, type CliIO } from './io.ts';
import { openEtcdSource } from './etcd-datastore.ts';
import { ETCD_FLAGS, ETCD_USAGE, etcdOverrides } from './etcd-flags.ts';
import { nearest } from './help.ts';

const USAGE = `usage: outpost bundle export --node N | --all, --resources DIR | ${ETCD_USAGE}, --signing-key KEY, --out FILE | --out-dir DIR
       outpost bundle verify FILE --trust-key PUB [--trust-key PUB2] [--node N]
       outpost bundle import FILE [--wait SECONDS] [agent settings: --config, --node, --trust-key, --state]`;

export async function bundleCommand(args: string[], io: CliIO): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === 'export') return exportBundle(rest, io);
  if (sub === 'verify') return verifyBundle(rest, io);
  if (sub === 'import') return importBundle(rest, io);
  const near = sub === undefined ? undefined : nearest(sub, ['export', 'verify', 'import']);
  throw new UsageError(`${sub === undefined ? 'a subcommand is required' : `unknown subcommand '${sub}'${near ? `; did you mean '${near}'?` : ''}`}\n${USAGE}`);
}

async function exportBundle(args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      node: { type: 'string' },
      all: { type: 'boolean' },
      ...ETCD_FLAGS,
      resources: { type: 'string', multiple: true },
      'signing-key': { type: 'string' },
      out: { type: 'string', short: 'o' },
      'out-dir': { type: 'string' },
    },
  });
  if (positionals.length) throw new UsageError(`bundle export takes no arguments (got ${positionals.join(' ')})`);
  const all = values.all === true;
  if (all === (values.node !== undefined)) throw new UsageError('give exactly one of --node N and --all');
  if (!(values.etcd || values.config) === !values.resources) throw new UsageError('give exactly one datastore: --etcd URL (or -c calicoctl.cfg) or --resources DIR');
  if (!values['signing-key']) throw new UsageError('--signing-key KEY is required (the relay\'s private key)');
  if (all ? !values['out-dir'] : !values.out) throw new UsageError(all ? '--all needs --out-dir DIR' : '--node needs --out FILE');
  const key = await loadPrivateKey(values['signing-key']);
  if (!key.ok) throw new UsageError(key.message);
  if (key.warning) io.err(key.warning);

  // The etcd datastore exactly as the relay opens it (TLS, auth, calicoctl.cfg, ETCD_*).
  const source: DatastoreSource = values.etcd || values.config
    ? await openEtcdSource(etcdOverrides(values), values.config, io, createLogger('error'), 5_000)
    : new (await import('../datastore/folder-source.ts')).FolderSource(values.resources!.flatMap((x) => x.split(',').map((y) => y.trim()).filter(Boolean)));
  const state = await readOnce(source, io);
  if (!state) return 1;
  // The relay's own computation: every node's closure from the same resources and revision.
  const failed = new Map<string, string>();
  const closures = computeClosures(state.resources, failed);
  const nodes = all ? [...closures.keys(), ...failed.keys()].sort() : [values.node!];
  if (nodes.length === 0) {
    io.err('no node has a host endpoint in this datastore: nothing to export');
    return 1;
  }
  if (all) mkdirSync(values['out-dir']!, { recursive: true });
  let bad = 0;
  for (const node of nodes) {
    const c = closures.get(node);
    if (!c) {
      io.err(failed.has(node) ? `${node}: cannot compute its plan: ${failed.get(node)}` : `${node}: no host endpoint names this node in the datastore (a bundle for it would remove its policy); nothing written`);
      bad++;
      continue;
    }
    let payload: Uint8Array;
    try {
      payload = encodeSnapshot({ node, revision: state.revision, plan: c.plan, issuedAt: Date.now() }, key.key);
    } catch (e) {
      io.err(`${node}: ${(e as Error).message}`);
      bad++;
      continue;
    }
    const out = all ? join(values['out-dir']!, `${node}${BUNDLE_SUFFIX}`) : values.out!;
    await writeFileAtomic(out, Buffer.from(payload) as unknown as string, { mode: 0o644, overwrite: true });
    io.out(`${out}: node ${node}, revision ${state.revision}, ${c.plan.endpoints.length} endpoint(s), ${c.plan.policies.length} polic${c.plan.policies.length === 1 ? 'y' : 'ies'}`);
  }
  return bad ? 1 : 0;
}

/**
 * The datastore's first complete state; invalid resources are reported and left out, as the
 * relay does. A datastore that cannot be read is reported (nothing is written) as undefined.
 */
async function readOnce(source: DatastoreSource, io: CliIO): Promise<DatastoreState | undefined> {
  let state: DatastoreState | undefined;
  try {
    await source.start({
      onState: (s) => (state = s),
      onError: (m, r) => io.err(`warning: ${r ? `${r.source}: ` : ''}${m}`),
    });
  } catch (e) {
    io.err(`cannot read the datastore: ${(e as Error).message}; nothing was exported`);
    return undefined;
  } finally {
    await source.stop();
  }
  if (!state) io.err('the datastore delivered no state; nothing was exported');
  return state;
}

function decodeFile(file: string, keys: readonly KeyObject[], node: string | undefined): DecodeResult {
  const payload = readBounded(file);
  if (payload.length === 0) return { ok: false, reason: 'malformed', message: 'the file is empty' };
  return decodeSnapshot(payload, { publicKey: keys, node: node ?? claimedNode(payload) ?? '' });
}

async function verifyBundle(args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { 'trust-key': { type: 'string', multiple: true }, node: { type: 'string' } }, allowPositionals: true });
  if (positionals.length !== 1) throw new UsageError('bundle verify takes one FILE');
  if (!values['trust-key']?.length) throw new UsageError('--trust-key PUB is required (the relay\'s public key; repeat it for several)');
  const keys = await loadPublicKeys(values['trust-key'].flatMap((x) => x.split(',')));
  if (!keys.ok) throw new UsageError(keys.message);
  const file = positionals[0]!;
  let r: DecodeResult;
  try {
    r = decodeFile(file, keys.keys, values.node);
  } catch (e) {
    io.err(`${file}: cannot read: ${(e as Error).message}`);
    return 1;
  }
  if (!r.ok) {
    io.err(`${file}: INVALID (${r.reason}): ${r.message}`);
    return 1;
  }
  const s = r.snapshot;
  // When it was signed (export time); bundles signed before issue times existed have none.
  const at = (s as { issuedAt?: number }).issuedAt;
  const issued = at === undefined ? undefined : `${new Date(at).toISOString()} (${Math.round((Date.now() - at) / 60_000)} min ago)`;
  io.out(
    [
      `${file}: valid bundle`,
      `  node:      ${s.node}`,
      `  revision:  ${s.revision}`,
      `  hash:      ${s.hash}`,
      ...(issued !== undefined ? [`  issued:    ${issued}`] : []),
      `  signed by: key ${s.keyId}`,
      `  endpoints: ${s.plan.endpoints.length}`,
      `  policies:  ${s.plan.policies.length}`,
    ].join('\n'),
  );
  return 0;
}

async function importBundle(args: string[], io: CliIO): Promise<number> {
  // The agent's own configuration (its file, environment, flags): same node, keys and state dir.
  const { config, extra, positionals } = await loadAgentConfig(args, io, { wait: { type: 'string' } });
  if (positionals.length !== 1) throw new UsageError('bundle import takes one FILE');
  if (!config.trustKey) throw new UsageError('the agent has no trustKey: bundles are signed snapshots, for relay mode');
  const waitS = extra['wait'] === undefined ? 30 : Number(extra['wait']);
  if (!Number.isFinite(waitS) || waitS < 0) throw new UsageError('--wait takes a number of seconds');
  const keys = await loadPublicKeys(config.trustKey);
  if (!keys.ok) throw new UsageError(keys.message);
  const file = positionals[0]!;
  let payload: Uint8Array;
  try {
    payload = readBounded(file);
  } catch (e) {
    io.err(`${file}: cannot read: ${(e as Error).message}`);
    return 1;
  }
  // Checked here too, so a bad bundle is named at once and never reaches the agent.
  const r = payload.length ? decodeSnapshot(payload, { publicKey: keys.keys, node: config.node }) : ({ ok: false, reason: 'malformed', message: 'the file is empty' } as const);
  if (!r.ok) {
    io.err(`${file}: refused (${r.reason}): ${r.message}`);
    return 1;
  }
  const snap = r.snapshot;

  const lock = await lockStateDir(config.state);
  if (!lock.ok && !lock.held) throw new UsageError(lock.message);
  if (lock.ok) {
    // No agent on this state dir: the bundle goes into its cache, as a received snapshot would.
    try {
      const cache = SnapshotCache.open(config.state, { log: (m) => io.err(m) });
      try {
        const row = cache.load(config.node);
        const heldDecoded = row ? decodeSnapshot(row.payload, { publicKey: keys.keys, node: config.node }) : undefined;
        const held = heldDecoded?.ok ? heldDecoded.snapshot : undefined;
        const verdict = revisionVerdict(held, snap);
        if (verdict === 'stale') {
          io.err(`${file}: refused (stale): revision ${snap.revision} is older than ${held!.revision}, which the agent holds`);
          return 1;
        }
        if (verdict === 'unchanged') {
          io.out(`revision ${snap.revision} (${snap.hash}) is already the agent's snapshot; nothing to do`);
          return 0;
        }
        cache.save(config.node, { revision: snap.revision, hash: snap.hash, payload: snap.payload });
      } finally {
        cache.close();
      }
    } finally {
      lock.release();
    }
    io.out(`the agent is not running: revision ${snap.revision} (${snap.hash}) stored in ${config.state}; it is enforced when the agent starts`);
    return 0;
  }

  // The agent is running: hand the bundle over and wait for its verdict.
  const inbox = inboxOf(config.state);
  const id = `import-${Date.now()}-${randomBytes(4).toString('hex')}`;
  const bundlePath = join(inbox, `${id}${BUNDLE_SUFFIX}`);
  const resultPath = join(inbox, `${id}${RESULT_SUFFIX}`);
  mkdirSync(inbox, { recursive: true, mode: 0o700 });
  writeByRename(bundlePath, payload);
  const end = Date.now() + waitS * 1000;
  while (!existsSync(resultPath)) {
    if (Date.now() >= end) {
      try {
        unlinkSync(bundlePath);
        io.err(`the agent did not take the bundle within ${waitS} s; withdrawn (is it stuck?)`);
        return 1;
      } catch {
        // Taken just now: its verdict follows.
      }
    }
    await Bun.sleep(100);
  }
  let verdict: BundleVerdict;
  try {
    const parsed = v.safeParse(BundleVerdictSchema, JSON.parse(readFileSync(resultPath, 'utf8')));
    verdict = parsed.success ? parsed.output : { ok: false, message: `its verdict ${resultPath} is not {ok, message}: ${v.summarize(parsed.issues)}` };
  } catch (e) {
    verdict = { ok: false, message: `cannot read its verdict ${resultPath}: ${(e as Error).message}` };
  }
  rmSync(resultPath, { force: true });
  (verdict.ok ? io.out : io.err)(`the running agent: ${verdict.message}`);
  return verdict.ok ? 0 : 1;
}
