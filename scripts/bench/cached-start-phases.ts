/**
 * Where a cached start spends its time: the agent's boot steps, timed one by one in a fresh
 * process (run inside the lab namespace by cached-start.ts, so imports, JIT and nft are as cold
 * as in a real start). Prints one JSON object of milliseconds.
 *
 * It repeats the steps relay-mode.ts takes before the network (load key, open SQLite, load,
 * decode + verify, render for the host's interfaces, nft apply, read back + verify) with the
 * same functions, not a copy of their logic.
 *
 * usage: bun cached-start-phases.ts STATE_DIR TRUST_KEY NODE
 */
const t0 = performance.now();
const [{ SnapshotCache }, { decodeSnapshot }, { loadPublicKey }, { renderForHost }, { watchInterfaces }, { NftRunner }, { verifyListing }] = await Promise.all([
  import('../../src/cache/snapshot-cache.ts'),
  import('../../src/protocol/snapshot.ts'),
  import('../../src/platform/signing.ts'),
  import('../../src/agent/host-ruleset.ts'),
  import('../../src/agent/host-interfaces.ts'),
  import('../../src/nft/runner.ts'),
  import('../../src/nft/verify.ts'),
]);
const [state, keyFile, node] = process.argv.slice(2) as [string, string, string];
const out: Record<string, number> = {};
let last = performance.now();
const lap = (name: string) => {
  const now = performance.now();
  out[name] = now - last;
  last = now;
};
out['import agent modules'] = last - t0;

const key = await loadPublicKey(keyFile);
if (!key.ok) throw new Error(key.message);
lap('load trust key');
const cache = SnapshotCache.open(state);
lap('SQLite open');
const row = cache.load(node);
if (!row) throw new Error('no cached snapshot');
lap('SQLite load row');
const r = decodeSnapshot(row.payload, { publicKey: key.key, node });
if (!r.ok) throw new Error(r.message);
lap('decode + verify snapshot');
const { rendered } = renderForHost(r.snapshot.plan, { failsafeInbound: undefined, failsafeOutbound: undefined, loopback: 'exempt' }, watchInterfaces.read());
const bytes = JSON.stringify(rendered.document);
lap('render ruleset');
const runner = new NftRunner(state);
const applied = await runner.apply(bytes);
if (!applied.ok) throw applied.error;
lap('nft -j -f (apply)');
const problems = verifyListing(await runner.listTable(), rendered);
if (problems.length) throw new Error(problems.join('; '));
lap('nft -j list + verify');
cache.close();
out['ruleset bytes'] = bytes.length;
out['snapshot bytes'] = row.payload.length;
console.log(JSON.stringify(out));
