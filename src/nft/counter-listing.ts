/**
 * The table listed for its counters (`nft -t -j list table inet outpost`: -t leaves set
 * elements out, a large set would only slow this down and counters are on rules), parsed, or
 * why not. One reading for `outpost status`, the agent's staged summary and the per-policy
 * metrics, so each tells a missing table from an nft that could not run the same way.
 */
import { execa } from 'execa';
import { TABLE } from '../render/naming.ts';

export type CounterListing =
  | { readonly state: 'present'; readonly listing: unknown }
  | { readonly state: 'missing' }
  | { readonly state: 'unknown'; readonly reason: string };

export async function listCounters(nft: string, timeoutMs = 30_000): Promise<CounterListing> {
  const r = await execa(nft, ['-t', '-j', 'list', 'table', 'inet', TABLE], { reject: false, timeout: timeoutMs, stdin: 'ignore', cwd: '/' }).catch((e: Error) => ({ exitCode: -1, stdout: '', stderr: e.message, shortMessage: e.message }));
  if (r.exitCode !== 0) {
    const err = String(r.stderr || ('shortMessage' in r ? r.shortMessage : '') || '').trim();
    // Only nft's own answer says the table is missing: a binary that could not be started reads
    // "no such file or directory" too (spawn ENOENT), and says nothing about the table.
    if (/No such file or directory/i.test(String(r.stderr ?? ''))) return { state: 'missing' };
    return { state: 'unknown', reason: `${nft} could not list the table: ${err.split('\n')[0] || `exit ${r.exitCode}`}` };
  }
  try {
    return { state: 'present', listing: JSON.parse(String(r.stdout)) as unknown };
  } catch {
    return { state: 'unknown', reason: `${nft} listed the table in a form that is not JSON` };
  }
}
