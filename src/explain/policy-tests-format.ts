/** One policy test result as `outpost test` (and the relay's log) prints it. */
import type { PolicyTestResult } from './policy-tests.ts';
import { protocolName } from './packet-text.ts';

export function formatPolicyTestResult(r: PolicyTestResult): string[] {
  const t = r.test;
  const flow = `${t.direction} ${t.from} -> ${t.to} ${t.port ? `${t.port.port}/${protocolName(t.port.protocol ?? t.proto ?? 0)}` : protocolName(t.proto ?? 0)}${t.icmp ? ` icmp ${t.icmp.type}${t.icmp.code !== undefined ? `/${t.icmp.code}` : ''}` : ''}`;
  const at = r.node !== undefined ? ` on ${r.node}${r.iface !== undefined ? ` ${r.iface}` : ''}` : '';
  if (r.problem !== undefined) return [`FAIL ${t.name}${at}: ${flow}: cannot run: ${r.problem}`];
  const head = `${r.ok ? 'PASS' : 'FAIL'} ${t.name}${at}: ${flow}: ${r.got}${r.ok ? '' : `, expected ${r.expected}`}${r.note ? ` (${r.note})` : ''}`;
  return r.ok ? [head] : [head, ...r.steps.map((s) => `    ${s.text}`)];
}
