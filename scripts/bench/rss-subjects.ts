/**
 * What idle-rss.ts measures with --variants: experiments that show what the agent's memory is
 * made of, and what a change would save, without changing src/ or scripts/build*.
 *
 * - Build experiments: the agent compiled without bytecode; with `--smol` in compile execArgv;
 *   with compile.jitPolicy 1000 (code stays in the interpreter much longer).
 * - Wrapper experiments: a program that imports src/main.ts's main() and runs it with one
 *   thing changed around it, compiled with the shipped options. A wrapper does not re-exec
 *   (src/platform/runtime-env.ts is never called), so it can also run with a JSC option in
 *   its environment. "wrapper, unchanged" is the control the others compare with.
 * - Idle probes, compiled with the shipped options, that only import something and wait: the
 *   Bun runtime alone, each of the agent's third-party modules alone, all of them, all but
 *   execa (and pino), and the agent's own modules (which pull those in) without running anything.
 *
 * Since 455b7ec src/ itself sets `writeCache: false`, `Bun.unsafe.setJITPolicy(1000)` (agent
 * only) and one full GC after applies settle, which these experiments measured beforehand; on
 * that code the wrapper rows for them change nothing and only the others still tell something.
 */
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { BUILD_VARIANTS, JIT_POLICY_VARIANT, buildFromEntry, buildVariant, type Variant } from './binaries.ts';
import { ROOT } from './lib.ts';

export interface Subject {
  readonly label: string;
  readonly argv: readonly string[];
  /** An agent (waits for the relay's ruleset) or an idle probe (nothing to wait for). */
  readonly agent: boolean;
  readonly env?: Record<string, string>;
}

const SHIPPED_VARIANT: Variant = BUILD_VARIANTS.find((v) => v.name === 'minify-bytecode-esm')!;
const at = (spec: string, from = ROOT) => JSON.stringify(Bun.resolveSync(spec, from));

/** main() from src/main.ts, with `before` run first and `after` once main has started. */
function wrapper(before: string, after: string): string {
  return [
    `import { main } from ${at('./src/main.ts')};`,
    before,
    after,
    'process.exitCode = await main(process.argv.slice(2));',
  ].join('\n');
}

export async function experimentSubjects(dir: string): Promise<Subject[]> {
  const out: Subject[] = [];
  const noBytecode = await buildVariant(BUILD_VARIANTS.find((v) => v.name === 'minify')!, dir);
  out.push({ label: 'build: minify, no bytecode', argv: [noBytecode.path], agent: true });
  const smol = await buildVariant({ name: 'smol', label: '', options: SHIPPED_VARIANT.options, extra: { execArgv: ['--smol'] } }, dir);
  out.push({ label: 'build: shipped + `--smol` (compile execArgv)', argv: [smol.path], agent: true });
  const jit = await buildVariant(JIT_POLICY_VARIANT, dir);
  out.push({ label: 'build: shipped + `jitPolicy: 1000` (compile option)', argv: [jit.path], agent: true });

  // MQTT.js (mqtt-packet) fills a cache of 65,536 two-byte Buffers on the first packet it
  // writes, unless the client is created with `writeCache: false`; this is what that sets.
  const mqttPacket = at('mqtt-packet', dirname(Bun.resolveSync('mqtt', ROOT)));
  const noWriteCache = `import mqttPacket from ${mqttPacket};\n(mqttPacket as unknown as { writeToStream: { cacheNumbers: boolean } }).writeToStream.cacheNumbers = false;`;
  const gcOnce = 'setTimeout(() => Bun.gc(true), 3000);';
  // The runtime form of compile.jitPolicy: one binary, so the agent could set it and the relay not.
  const jitLater = 'Bun.unsafe.setJITPolicy(1000);';
  const wrappers: [string, string, string, string, (Record<string, string> | undefined)?, Variant?][] = [
    ['wrap-control', 'wrapper, unchanged (control for the rows below)', '', ''],
    ['wrap-nocache', 'wrapper: MQTT `writeCache: false`', noWriteCache, ''],
    ['wrap-gc', 'wrapper: one full GC (`Bun.gc(true)`) 3 s after start', '', gcOnce],
    ['wrap-nocache-gc', 'wrapper: `writeCache: false` + one full GC', noWriteCache, gcOnce],
    ['wrap-control', 'wrapper, JIT off (`BUN_JSC_useJIT=0`; interpreter only)', '', '', { BUN_JSC_useJIT: '0' }],
    ['wrap-nocache-gc', 'wrapper: `writeCache: false` + one full GC, JIT off', noWriteCache, gcOnce, { BUN_JSC_useJIT: '0' }],
    ['wrap-jit', 'wrapper: `Bun.unsafe.setJITPolicy(1000)` before main()', jitLater, ''],
    ['wrap-nocache-gc-jit', 'wrapper: `writeCache: false` + one full GC + `setJITPolicy(1000)`', `${noWriteCache}\n${jitLater}`, gcOnce],
    ['wrap-nocache-gc-jit1000', 'wrapper: `writeCache: false` + one full GC, built with `jitPolicy: 1000`', noWriteCache, gcOnce, undefined, JIT_POLICY_VARIANT],
  ];
  const built = new Map<string, string>();
  for (const [name, label, before, after, env, variant] of wrappers) {
    if (!built.has(name)) {
      const entry = join(dir, `${name}.ts`);
      await writeFile(entry, wrapper(before, after));
      built.set(name, await buildFromEntry(entry, name, variant ?? SHIPPED_VARIANT, dir));
    }
    out.push({ label, argv: [built.get(name)!], agent: true, ...(env ? { env } : {}) });
  }

  const keep = (names: string[]) => `(globalThis as Record<string, unknown>).keep = [${names.join(', ')}];`;
  const deps: [string, string][] = [['mqtt', 'mqtt'], ['pino', 'pino'], ['execa', 'execa'], ['valibot', 'valibot']];
  const probes: [string, string][] = [
    ['probe: empty program (the Bun runtime)', ''],
    ...deps.map(([name, spec]): [string, string] => [`probe: imports ${name}`, `import * as m from ${at(spec)};\n${keep(['m'])}`]),
    ['probe: imports bun:sqlite, opens a database', `import { Database } from 'bun:sqlite';\n${keep(['new Database(":memory:")'])}`],
    [
      'probe: imports all five',
      `${deps.map(([, spec], i) => `import * as m${i} from ${at(spec)};`).join('\n')}\nimport { Database } from 'bun:sqlite';\n${keep([...deps.map((_, i) => `m${i}`), 'new Database(":memory:")'])}`,
    ],
    ...[['execa'], ['execa', 'pino']].map((drop): [string, string] => {
      const kept = deps.filter(([name]) => !drop.includes(name));
      return [
        `probe: imports all five but ${drop.join(' and ')}`,
        `${kept.map(([, spec], i) => `import * as m${i} from ${at(spec)};`).join('\n')}\nimport { Database } from 'bun:sqlite';\n${keep([...kept.map((_, i) => `m${i}`), 'new Database(":memory:")'])}`,
      ];
    }),
    ['probe: imports the agent\'s modules (agent command, relay mode)', `import * as a from ${at('./src/cli/agent-command.ts')};\nimport * as b from ${at('./src/agent/relay-mode.ts')};\n${keep(['a', 'b'])}`],
  ];
  for (const [i, [label, body]] of probes.entries()) {
    const entry = join(dir, `probe${i}.ts`);
    await writeFile(entry, `${body}\nsetInterval(() => {}, 1 << 30);\n`);
    out.push({ label, argv: [await buildFromEntry(entry, `probe${i}`, SHIPPED_VARIANT, dir)], agent: false });
  }
  return out;
}
