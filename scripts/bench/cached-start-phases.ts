/**
 * Where the agent spends its time, step by step, with the functions the agent itself uses
 * (relay-mode.ts, enforcer.ts), not a copy of their logic. Runs inside a lab namespace.
 *
 * - cold: one pass in a fresh process, as at boot from the cache: import the modules, load the
 *   key, open SQLite, load the row, decode + verify, render, nft apply, read back + verify.
 * - warm (when WARM > 0): WARM more passes in the same process, as for a snapshot arriving at a
 *   running agent: decode + verify, SQLite save (synchronous=FULL), render, apply, read back.
 *   Medians. The same snapshot each time; nft still runs the whole transaction.
 *
 * Prints one JSON line: {"cold": {step: ms}, "warm": {step: ms} | null, "rulesetBytes", "snapshotBytes"}.
 * usage: bun cached-start-phases.ts STATE_DIR TRUST_KEY NODE [WARM]
 */
const t0 = performance.now();
const [{ SnapshotCache }, { decodeSnapshot }, { loadPublicKey }, { renderForHost }, { readHostInterfaces }, { NftRunner }, { verifyListing }] = await Promise.all([
  import('../../src/cache/snapshot-cache.ts'),
  import('../../src/protocol/snapshot.ts'),
  import('../../src/platform/signing.ts'),
  import('../../src/agent/host-ruleset.ts'),
  import('../../src/agent/host-interfaces.ts'),
  import('../../src/nft/runner.ts'),
  import('../../src/nft/verify.ts'),
]);
const [state, keyFile, node, warmArg] = process.argv.slice(2) as [string, string, string, string | undefined];
const imported = performance.now() - t0;

function laps() {
  const out: Record<string, number> = {};
  let last = performance.now();
  return {
    out,
    lap(name: string) {
      const now = performance.now();
      out[name] = now - last;
      last = now;
    },
  };
}

const cold = laps();
cold.out['import agent modules'] = imported;
const key = await loadPublicKey(keyFile);
if (!key.ok) throw new Error(key.message);
const publicKey = key.key;
cold.lap('load trust key');
const cache = SnapshotCache.open(state);
cold.lap('SQLite open');
const row = cache.load(node);
if (!row) throw new Error('no cached snapshot');
const { revision, hash, payload } = row;
cold.lap('SQLite load row');
const runner = new NftRunner(state);
const config = { failsafeInbound: undefined, failsafeOutbound: undefined, loopback: 'exempt' as const };
let rulesetBytes = 0;

/** The steps after the snapshot bytes are in hand; `save` as on receipt from the relay. */
async function apply(t: ReturnType<typeof laps>, save: boolean): Promise<void> {
  const r = decodeSnapshot(payload, { publicKey, node });
  if (!r.ok) throw new Error(r.message);
  t.lap('decode + verify snapshot');
  if (save) {
    cache.save(node, { revision, hash, payload });
    t.lap('SQLite save');
  }
  const { rendered } = renderForHost(r.snapshot.plan, config, readHostInterfaces());
  const bytes = JSON.stringify(rendered.document);
  rulesetBytes = bytes.length;
  t.lap('render ruleset');
  const applied = await runner.apply(bytes);
  if (!applied.ok) throw applied.error;
  t.lap('nft -j -f (apply)');
  const problems = verifyListing(await runner.listTable(), rendered);
  if (problems.length) throw new Error(problems.join('; '));
  t.lap('nft -j list + verify');
}

await apply(cold, false);
let warm: Record<string, number> | null = null;
const n = Number(warmArg ?? 0);
if (n > 0) {
  const passes: Record<string, number>[] = [];
  for (let i = 0; i < n; i++) {
    const t = laps();
    await apply(t, true);
    passes.push(t.out);
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.ceil(xs.length / 2) - 1]!;
  warm = Object.fromEntries(Object.keys(passes[0]!).map((k) => [k, med(passes.map((p) => p[k]!))]));
}
cache.close();
console.log(JSON.stringify({ cold: cold.out, warm, rulesetBytes, snapshotBytes: payload.length }));
