/** `outpost status` as text: the report (status-report.ts) in the order an operator asks about it. */
import type { Traffic } from '../nft/counters.ts';
import type { StatusReport } from './status-report.ts';
import { printable } from '../platform/terminal-text.ts';

const SOURCE: Record<string, string> = { relay: 'relay (signed snapshots over MQTT)', bundle: 'bundle (signed offline bundles)', local: 'local files' };
const STAGE: Record<string, string> = { rfh: 'untracked', rth: 'untracked', mfh: 'pre-DNAT', fh: 'normal', th: 'normal', fhfw: 'forward', thfw: 'forward' };

/** "3m ago", "2h ago": how long before `now`. */
export function ago(iso: string, now: number): string {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 120) return `${s}s ago`;
  if (s < 7200) return `${Math.round(s / 60)}m ago`;
  if (s < 172_800) return `${Math.round(s / 3600)}h ago`;
  return `${Math.round(s / 86_400)}d ago`;
}

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let x = n / 1024;
  let u = 0;
  while (x >= 1024 && u < units.length - 1) {
    x /= 1024;
    u++;
  }
  return `${x.toFixed(1)} ${units[u]}`;
}

const traffic = (t: Traffic | null): string => (t === null ? '-' : `${t.packets} pkt${t.packets === 1 ? '' : 's'} ${bytes(t.bytes)}`);

export function formatReport(r: StatusReport, now = Date.now()): string {
  const L: string[] = [];
  const row = (k: string, v: string) => L.push(`${k.padEnd(10)}${v}`);
  row('node', r.node);
  row('source', SOURCE[r.source] ?? r.source);
  row('state', `${r.state === 'error' ? 'ERROR' : r.state} since ${r.since} (${ago(r.since, now)})${r.reason ? `: ${r.reason}` : ''}`);
  row('agent', r.agent.running ? `running (pid ${r.agent.lockHolder ?? r.agent.pid}, outpost ${r.agent.version})` : `NOT RUNNING (last pid ${r.agent.pid}, file updated ${ago(r.agent.updatedAt, now)}; ${r.agent.how})`);
  if (r.revision !== undefined) row('revision', `${r.revision} ${r.hash ?? ''}${r.issuedAt ? ` (issued ${r.issuedAt}, ${ago(r.issuedAt, now)})` : ''}`);
  else if (r.source === 'local') row('revision', '- (computed on this host from local files)');
  else row('revision', 'none: no snapshot applied yet');
  if (r.lastGoodApply) row('applied', `${r.lastGoodApply.at} (${ago(r.lastGoodApply.at, now)}) in ${r.lastGoodApply.durationMs} ms (${r.lastGoodApply.why})`);
  else row('applied', 'never by this agent');
  if (r.lastApply && !r.lastApply.ok) row('last try', `FAILED ${r.lastApply.at} (${ago(r.lastApply.at, now)}): ${r.lastApply.error ?? 'unknown error'}`);
  row('table', r.table === 'present' ? 'inet outpost present' : r.table === 'missing' ? 'MISSING: inet outpost is not in the kernel' : `not read (${r.tableProblem ?? 'unknown'})`);
  for (const p of r.problems) L.push(`! ${p}`);
  for (const w of r.warnings) L.push(`warning: ${w}`);

  L.push('', 'host endpoints');
  if (r.matchesNothing) L.push(`  none: node '${r.node}' matches no HostEndpoint; no interface is governed`);
  for (const ep of r.endpoints) L.push(`  ${ep.name.padEnd(30)} ${ep.interfaces.length ? ep.interfaces.join(' ') : '(no interface on this host)'}`);
  if (r.endpointCount > r.endpoints.length) L.push(`  ... and ${r.endpointCount - r.endpoints.length} more`);

  if (r.endpoints.length) L.push('', 'policies in evaluation order (packets reached · allowed)');
  for (const ep of r.endpoints) {
    for (const st of ep.stages) {
      L.push(`  ${ep.name} ${st.direction} ${STAGE[st.stage] ?? st.stage} (${st.chain})`);
      for (const t of st.tiers) {
        L.push(`    tier ${t.tier}`);
        for (const p of t.policies) L.push(`      ${p.key.padEnd(36)} ${traffic(p.evaluated).padEnd(20)} allowed ${traffic(p.allowed)}`);
        if (t.endOfTierDrop !== null) L.push(`      ${'end of tier: drop'.padEnd(36)} ${traffic(t.endOfTierDrop)}`);
      }
      for (const p of st.profiles ?? []) L.push(`    profile ${p.name.padEnd(28)} ${p.chain === undefined ? 'does not exist: drops' : `${traffic(p.evaluated).padEnd(20)} allowed ${traffic(p.allowed)}`}`);
      if (st.noProfileDrop !== undefined) L.push(`    ${'no profile matched: drop'.padEnd(36)} ${traffic(st.noProfileDrop)}`);
    }
  }

  if (r.staged?.length) {
    L.push('', 'staged policies (not enforced; what they would have done to new connections)');
    for (const s of r.staged) L.push(`  ${(s.key ?? s.policy).padEnd(36)} ${s.direction.padEnd(8)} would allow ${s.wouldAllow.packets}, would deny ${s.wouldDeny.packets}, pass ${s.wouldPass.packets}, no match ${s.noMatch.packets}`);
  }

  L.push('');
  const refusals = Object.entries(r.refused);
  row('refusals', refusals.length ? refusals.map(([k, n]) => `${k} ${n}`).join(', ') : 'none');
  if (r.lastRefusal) L.push(`          last: ${r.lastRefusal.reason} ${ago(r.lastRefusal.at, now)}: ${r.lastRefusal.message}`);
  const hb = r.heldBack;
  row('held back', !hb || hb.count === 0 ? 'none' : `${hb.count} invalid resource${hb.count === 1 ? '' : 's'} (since ${hb.since})`);
  for (const i of hb?.items ?? []) L.push(`  ${i.kind} ${i.name} (${i.source}): ${i.reason}; ${i.lastValidInForce ? 'its last valid version stays in force' : 'NOTHING of it is enforced'}`);
  if (hb && hb.count > hb.items.length) L.push(`  ... and ${hb.count - hb.items.length} more`);
  // Names, reasons and errors come from the datastore, the broker and nft: a control character
  // (an ANSI escape, a carriage return, a newline faking a line) must not reach the terminal raw.
  return `${L.map(printable).join('\n')}\n`;
}
