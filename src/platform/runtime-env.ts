/**
 * Keeps the machine's Bun runtime variables away from the compiled binary.
 *
 * `bun build --compile` already stops .env, bunfig.toml, tsconfig.json and package.json from being
 * read (scripts/build.ts). Environment variables are another matter: the Bun runtime inside the
 * binary honours BUN_OPTIONS (--preload, --inspect, ...), BUN_JSC_* and others before any of our
 * code runs, and a root daemon must run only what it was built with and its own config. So when
 * one is present, the binary replaces itself (execve, same PID, same arguments) with the same
 * binary and an environment without them. What ran before this point cannot be undone (a
 * BUN_OPTIONS --preload, or BUN_BE_BUN, which never reaches our code), which is why the service
 * files start outpost with a cleared environment as well.
 */

/** Names the Bun runtime (or Node compatibility) reads to change what the binary executes. */
export function runtimeVariables(env: Readonly<Record<string, string | undefined>>): string[] {
  return Object.keys(env)
    .filter((k) => k.startsWith('BUN_') || k === 'NODE_OPTIONS' || k === 'NODE_COMPILE_CACHE')
    .sort();
}

export function withoutRuntimeVariables(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const drop = new Set(runtimeVariables(env));
  const clean: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && !drop.has(k)) clean[k] = v;
  return clean;
}

/**
 * Called first thing by the compiled binary. Returns only if no runtime variable is set, or if
 * execve is impossible (no libc found, or an emulator such as qemu-user without binfmt); then the
 * variables are removed from process.env so no child (nft) inherits them and a warning names them.
 */
export async function reexecWithoutRuntimeVariables(warn: (line: string) => void): Promise<void> {
  const found = runtimeVariables(process.env);
  if (found.length === 0) return;
  const clean = withoutRuntimeVariables(process.env);
  const error = await execve(process.execPath, [process.argv0, ...process.argv.slice(2)], clean);
  for (const k of found) delete process.env[k];
  warn(`outpost: ignoring ${found.join(', ')} (Bun runtime variables); could not restart without them: ${error}`);
}

const LIBC_NAMES = ['libc.so.6', `libc.musl-${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}.so.1`];

// The strings must stay reachable until execve returns: the pointer arrays only hold addresses.
const pinned: Buffer[] = [];

/** execve(2) through libc; returns only on failure, with the reason. */
async function execve(file: string, argv: string[], env: Record<string, string>): Promise<string> {
  const { dlopen, FFIType, ptr } = await import('bun:ffi');
  const signature = { execve: { args: [FFIType.ptr, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 } } as const;
  let libc: ReturnType<typeof dlopen<typeof signature>> | undefined;
  for (const name of LIBC_NAMES) {
    try {
      libc = dlopen(name, signature);
      break;
    } catch {
      // try the next libc name
    }
  }
  if (libc === undefined) return `no libc among ${LIBC_NAMES.join(', ')}`;
  const cString = (s: string): Buffer => {
    const b = Buffer.from(`${s}\0`);
    pinned.push(b);
    return b;
  };
  const pointerArray = (items: string[]): BigUint64Array => {
    const array = new BigUint64Array(items.length + 1);
    items.forEach((s, i) => (array[i] = BigInt(ptr(cString(s)))));
    return array;
  };
  const argvArray = pointerArray(argv);
  const envArray = pointerArray(Object.entries(env).map(([k, v]) => `${k}=${v}`));
  const rc = libc.symbols.execve(ptr(cString(file)), ptr(argvArray), ptr(envArray));
  pinned.length = 0;
  return `execve returned ${rc}`;
}
