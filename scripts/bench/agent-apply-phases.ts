/**
 * Where `agent --once` spends its time in local mode, step by step, with the agent's own
 * functions: read the files, parse + validate them (parseManifest), plan (computeNodePlan),
 * render (renderForHost), serialise, nft apply (NftRunner.apply), read back + check
 * (verifyListing). Beside them, for reference, the bare YAML parsers on the same text (the
 * `yaml` package and Bun's built-in one) and validation alone (validateResource over already
 * parsed documents), so "parse" and "validation" can be told apart.
 *
 * One pass in a fresh process, in a fresh namespace (agent-apply.ts runs it). Modules are
 * looked up by name at run time: a step whose function has moved or gone is reported as
 * missing instead of failing the run, since the agent is being reworked around these steps.
 *
 * Prints one JSON line: {"steps": {step: ms}, "reference": {what: ms}, "missing": [..]}.
 * usage: bun agent-apply-phases.ts RESOURCES_DIR STATE_DIR
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

type Mod = Record<string, unknown>;
const [dir, state] = process.argv.slice(2) as [string, string];
const missing: string[] = [];
const steps: Record<string, number> = {};
const reference: Record<string, number> = {};

async function fn<T extends (...a: never[]) => unknown>(path: string, name: string): Promise<T | undefined> {
  try {
    const m = (await import(path)) as Mod;
    if (typeof m[name] === 'function') return m[name] as T;
  } catch {
    // moved or gone
  }
  missing.push(`${name} (${path.replace(/^.*\/src\//, 'src/')})`);
  return undefined;
}

let last = performance.now();
const lap = (name: string, into = steps) => {
  const now = performance.now();
  into[name] = now - last;
  last = now;
};

const src = join(import.meta.dir, '..', '..', 'src');
const parseManifest = await fn<(text: string, source: string) => { resources: unknown[]; errors: unknown[] }>(join(src, 'model/manifest.ts'), 'parseManifest');
const validateResource = await fn<(raw: unknown, source?: string) => { ok: boolean }>(join(src, 'model/validate.ts'), 'validateResource');
const computeNodePlan = await fn<(i: { node: string; resources: unknown[] }) => { plan: unknown }>(join(src, 'calc/node-plan.ts'), 'computeNodePlan');
const renderForHost = await fn<(plan: unknown, config: unknown, ifaces: unknown) => { rendered: { document: unknown } }>(join(src, 'agent/host-ruleset.ts'), 'renderForHost');
const readHostInterfaces = await fn<() => unknown>(join(src, 'agent/host-interfaces.ts'), 'readHostInterfaces');
const NftRunner = (await fn<never>(join(src, 'nft/runner.ts'), 'NftRunner')) as unknown as (new (dir: string) => { apply(b: string): Promise<{ ok: boolean; error?: Error }>; listTable(): Promise<unknown> }) | undefined;
const verifyListing = await fn<(listing: unknown, expected: unknown) => string[]>(join(src, 'nft/verify.ts'), 'verifyListing');
lap('import agent modules');

const files = (await readdir(dir)).filter((f) => /\.(ya?ml|json)$/.test(f)).sort();
const texts = await Promise.all(files.map(async (f) => [join(dir, f), await readFile(join(dir, f), 'utf8')] as const));
lap('read files');

// Later files win for the same resource, as in the folder source (the set has no duplicates).
const resources: unknown[] = [];
if (parseManifest) {
  for (const [file, text] of texts) {
    const r = parseManifest(text, file);
    if (r.errors.length) throw new Error(`${file}: ${JSON.stringify(r.errors[0])}`);
    resources.push(...r.resources);
  }
}
lap('parse + validate (parseManifest)');
let plan: unknown;
if (computeNodePlan) plan = computeNodePlan({ node: 'gw', resources }).plan;
lap('plan (computeNodePlan)');
let rendered: { document: unknown } | undefined;
if (renderForHost && readHostInterfaces && plan) rendered = renderForHost(plan, { failsafeInbound: undefined, failsafeOutbound: undefined, loopback: 'exempt' }, readHostInterfaces()).rendered;
lap('render (renderForHost)');
const bytes = rendered ? JSON.stringify(rendered.document) : '';
lap('serialise (JSON.stringify)');
const runner = NftRunner ? new NftRunner(state) : undefined;
if (runner && bytes) {
  const r = await runner.apply(bytes);
  if (!r.ok) throw r.error ?? new Error('nft apply failed');
}
lap('nft apply (nft -j -f)');
let listing: unknown;
if (runner) listing = await runner.listTable();
lap('read back (nft -j list table)');
if (verifyListing && rendered) {
  const problems = verifyListing(listing, rendered);
  if (problems.length) throw new Error(`read-back check: ${problems.slice(0, 3).join('; ')}`);
}
lap('check the listing (verifyListing)');

// References, after the agent's own steps so they do not warm its caches first.
last = performance.now();
const docs: unknown[] = [];
try {
  const { parseAllDocuments } = await import('yaml');
  for (const [, text] of texts) for (const d of parseAllDocuments(text) as { toJS(): unknown }[]) docs.push(d.toJS());
  lap('parse alone: the `yaml` package (parseAllDocuments + toJS)', reference);
} catch {
  missing.push('the yaml package');
}
last = performance.now();
const bunDocs: unknown[] = [];
for (const [, text] of texts) {
  const v = Bun.YAML.parse(text) as unknown;
  bunDocs.push(...(Array.isArray(v) && text.trimStart().startsWith('---') ? v : [v]));
}
lap("parse alone: Bun's built-in YAML (Bun.YAML.parse)", reference);
if (validateResource) {
  for (const d of bunDocs) validateResource(d);
  lap('validation alone (validateResource over the parsed documents)', reference);
}
console.log(JSON.stringify({ steps, reference, missing, documents: bunDocs.length, rulesetBytes: bytes.length }));
