/**
 * A systemd unit's SystemCallFilter= as the set of system calls it allows, and the system calls an
 * `strace -f` log shows a process making: the two sides of "everything the service does passes
 * its filter" (service-sandbox.test.ts for the agent, relay-service.test.ts for the relay).
 */
import { readFile } from 'node:fs/promises';
import { ok } from './support.ts';

/** The system calls the unit's SystemCallFilter= lines allow, groups expanded by systemd-analyze. */
export async function filterAllows(unitFile: string): Promise<Set<string>> {
  const expand = async (group: string, into: Set<string>): Promise<void> => {
    if (!group.startsWith('@')) return void into.add(group);
    const r = await ok(['systemd-analyze', 'syscall-filter', group]);
    for (const line of r.stdout.split('\n').slice(1)) {
      const name = line.trim();
      if (name === '' || name.startsWith('#')) continue;
      if (name.startsWith('@')) await expand(name, into);
      else into.add(name);
    }
  };
  // As systemd reads them: the first line is an allow list; then "~" lines remove, others add.
  const allowed = new Set<string>();
  for (const [, deny, groups] of (await readFile(unitFile, 'utf8')).matchAll(/^SystemCallFilter=(~?)(.+)$/gm)) {
    const names = new Set<string>();
    for (const g of groups!.split(/\s+/)) await expand(g, names);
    for (const n of names) if (deny) allowed.delete(n); else allowed.add(n);
  }
  return allowed;
}

/** Names of the system calls in an `strace -f` log. */
export async function tracedSyscalls(file: string): Promise<Set<string>> {
  const names = new Set<string>();
  for (const line of (await readFile(file, 'utf8')).split('\n')) {
    const m = /^\d+\s+([a-z0-9_]+)\(/.exec(line);
    if (m?.[1]) names.add(m[1]);
  }
  return names;
}
