/**
 * Policy tests: declared flows with the verdict they must get (tests.yaml), checked with the
 * explain engine against node plans. `outpost test` runs them against a datastore; a relay with
 * `--tests FILE` runs them before it publishes.
 *
 *   tests:
 *     - name: office reaches the web server
 *       node: gw              # optional: default, every node whose HEP expectedIPs hold the
 *                             #   destination (direction in) or the source (direction out)
 *       iface: eth1           # optional: default, the interface of that HEP
 *       direction: in         # in (default) or out
 *       from: 198.18.0.5
 *       to: 198.18.1.1
 *       port: 443/tcp         # or proto: icmp | icmpv6 | tcp | udp | sctp | N
 *       icmp: 8/0             # optional, with proto icmp/icmpv6 (default echo request)
 *       expect: allow         # allow | deny
 */
import * as v from 'valibot';
import { parse as parseYaml } from 'yaml';
import { resolveDispatch, type HostInterface } from '../calc/dispatch.ts';
import type { EndpointPlan, NodePlan } from '../plan/schema.ts';
import { explainPacket, type Packet, type Step } from './engine.ts';
import { checkAddress, checkIfaceName, parseIcmpSpec, parsePortSpec, parseProtocol, sameAddress } from './packet-text.ts';

const MAX_TESTS = 2_000;
const MAX_TEXT_BYTES = 4 * 1024 * 1024;

const text = (field: string, max = 253) => v.pipe(v.string(`${field} must be text`), v.trim(), v.minLength(1, `${field} must not be empty`), v.maxLength(max, `${field} is longer than ${max} characters`));
const address = (field: string) => v.pipe(text(field, 64), v.check((s) => checkAddress(s, field) === undefined, `${field} is not an IP address`));
const checked = <T>(field: string, parse: (s: string, f: string) => T | string) =>
  v.pipe(v.union([v.string(), v.number()], `${field} must be text or a number`), v.transform(String), v.rawTransform(({ dataset, addIssue, NEVER }) => {
    const r = parse(dataset.value, field);
    if (typeof r === 'string') {
      addIssue({ message: r.replace(`${field}: `, '') });
      return NEVER;
    }
    return r;
  }));

const TestSchema = v.pipe(
  v.strictObject(
    {
      name: text('name', 200),
      node: v.optional(text('node')),
      iface: v.optional(v.pipe(text('iface', 15), v.rawCheck(({ dataset, addIssue }) => {
        const m = dataset.typed ? checkIfaceName(dataset.value, 'iface') : undefined;
        if (m !== undefined) addIssue({ message: m.replace('iface: ', '') });
      }))),
      direction: v.optional(v.picklist(['in', 'out'], 'direction must be in or out'), 'in'),
      from: address('from'),
      to: address('to'),
      port: v.optional(checked('port', parsePortSpec)),
      proto: v.optional(checked('proto', parseProtocol)),
      icmp: v.optional(checked('icmp', parseIcmpSpec)),
      expect: v.picklist(['allow', 'deny'], 'expect must be allow or deny'),
    },
    // One message function for the object: a missing field arrives with no input, a stray one with
    // its key (expected "never"), an entry that is no mapping at all with itself.
    (issue) =>
      issue.input === undefined ? 'is required'
      : issue.expected !== 'never' ? `must be a mapping with name, from, to, port or proto, and expect (got ${JSON.stringify(issue.input) ?? String(issue.input)})`
      : `unknown field ${JSON.stringify(String(issue.input))} (fields: name, node, iface, direction, from, to, port, proto, icmp, expect)`,
  ),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const t = dataset.value;
    const port = t.port;
    const proto = t.proto;
    const fail = (key: string, message: string) => addIssue({ message, path: [{ type: 'object', origin: 'value', input: t, key, value: (t as Record<string, unknown>)[key] }] });
    if (port === undefined && proto === undefined) fail('port', 'give port (e.g. 443/tcp) or proto (e.g. icmp)');
    else if (port !== undefined && port.protocol === undefined && proto === undefined) fail('port', 'needs a protocol: 443/tcp, or proto: tcp');
    else if (port !== undefined && proto !== undefined && port.protocol !== undefined && port.protocol !== proto) fail('proto', 'contradicts the protocol of port');
    const protocol = port?.protocol ?? proto;
    const ported = protocol === 6 || protocol === 17 || protocol === 132 || protocol === 136;
    if (port === undefined && ported) fail('port', `protocol ${protocol} needs a port (e.g. 443/tcp)`);
    if (port !== undefined && protocol !== undefined && !ported) fail('port', `protocol ${protocol} has no ports`);
    if (t.icmp !== undefined && protocol !== 1 && protocol !== 58) fail('icmp', 'is for proto icmp or icmpv6');
    if (checkAddress(t.from, 'from') === undefined && checkAddress(t.to, 'to') === undefined && t.from.includes(':') !== t.to.includes(':')) fail('to', 'is not the same IP version as from');
  }),
);

const FileSchema = v.strictObject(
  { tests: v.pipe(v.array(TestSchema, 'tests must be a list'), v.minLength(1, 'tests must not be empty'), v.maxLength(MAX_TESTS, `more than ${MAX_TESTS} tests`)) },
  (issue) => (issue.input === undefined ? 'is required' : `unknown top-level field ${JSON.stringify(String(issue.input))} (only "tests")`),
);

export type PolicyTest = v.InferOutput<typeof TestSchema>;

export class PolicyTestsError extends Error {
  readonly code = 'POLICY_TESTS' as const;
}

function where(issue: v.BaseIssue<unknown>): string {
  const parts: string[] = [];
  for (const p of issue.path ?? []) {
    const key = (p as { key?: unknown }).key;
    parts.push(typeof key === 'number' ? `[${key}]` : `${parts.length ? '.' : ''}${String(key)}`);
  }
  return parts.join('');
}

/** Parses and validates a tests file; throws PolicyTestsError naming the test index and field. */
export function parsePolicyTests(textIn: string, sourceName: string): PolicyTest[] {
  if (textIn.length > MAX_TEXT_BYTES) throw new PolicyTestsError(`${sourceName}: larger than ${MAX_TEXT_BYTES} bytes`);
  let raw: unknown;
  try {
    raw = parseYaml(textIn, { maxAliasCount: 100 });
  } catch (e) {
    throw new PolicyTestsError(`${sourceName}: not YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new PolicyTestsError(`${sourceName}: must be a mapping with a "tests" list`);
  // Counted before validating each one: a huge list is refused at once, not after the work.
  const list = (raw as { tests?: unknown }).tests;
  if (Array.isArray(list) && list.length > MAX_TESTS) throw new PolicyTestsError(`${sourceName}: tests: more than ${MAX_TESTS} tests`);
  // A list passes valibot's object check (its indexes would be "unknown fields"): named here.
  const lists = Array.isArray(list) ? list.flatMap((t, i) => (Array.isArray(t) ? [`tests[${i}]: must be a mapping with name, from, to, port or proto, and expect (got a list)`] : [])) : [];
  if (lists.length) throw new PolicyTestsError(`${sourceName}: ${lists.length === 1 ? lists[0] : `\n  ${lists.slice(0, 20).join('\n  ')}`}`);
  const r = v.safeParse(FileSchema, raw, { abortPipeEarly: true });
  if (!r.success) {
    const lines = r.issues.slice(0, 20).map((i) => {
      const path = where(i);
      const name = (() => {
        const idx = (i.path?.[1] as { key?: unknown } | undefined)?.key;
        const t = typeof idx === 'number' ? (raw as { tests?: { name?: unknown }[] }).tests?.[idx] : undefined;
        return typeof t?.name === 'string' ? ` ("${t.name}")` : '';
      })();
      // Unknown keys carry no path to the key itself: the message names it.
      return `${path || 'tests file'}${name}: ${i.message}`;
    });
    throw new PolicyTestsError(`${sourceName}: ${lines.length === 1 ? lines[0] : `\n  ${lines.join('\n  ')}`}`);
  }
  return r.output.tests;
}

export interface PolicyTestResult {
  readonly index: number;
  readonly test: PolicyTest;
  readonly ok: boolean;
  readonly expected: 'allow' | 'deny';
  /** undefined when the test could not be run (no node, no interface); `problem` says why. */
  readonly got?: 'allow' | 'deny';
  readonly node?: string;
  readonly iface?: string;
  readonly steps: readonly Step[];
  /** Why a node or interface was chosen, or why the test could not run. */
  readonly note?: string;
  readonly problem?: string;
}

export interface PolicyTestReport {
  readonly passed: number;
  readonly failures: PolicyTestResult[];
  readonly results: PolicyTestResult[];
}

/** The interface name given to a HEP's expectedIPs when the test names none (no real one is known). */
const SYNTHETIC_IFACE = 'expected-ips';

const owner = (plan: NodePlan, local: string): EndpointPlan | undefined =>
  [...plan.endpoints].sort((a, b) => (a.name < b.name ? -1 : 1)).find((e) => e.expectedIPs.some((ip) => sameAddress(ip, local)));

function runOne(t: PolicyTest, index: number, node: string, plan: NodePlan, why: string | undefined): PolicyTestResult {
  const local = t.direction === 'in' ? t.to : t.from;
  const base = { index, test: t, expected: t.expect, node };
  const hep = owner(plan, local);
  let iface = t.iface;
  let interfaces: HostInterface[] = [];
  if (iface === undefined) {
    if (!hep) return { ...base, ok: false, steps: [], problem: `no host endpoint of node ${node} has expectedIPs containing ${local}; give iface` };
    iface = hep.interfaceName !== '' && hep.interfaceName !== '*' ? hep.interfaceName : SYNTHETIC_IFACE;
  }
  // The host holds its HEP's expectedIPs on the interface in question: that is what dispatch by address needs.
  if (hep) interfaces = [{ name: iface, addresses: hep.expectedIPs }];
  const port = t.port;
  const protocol = port?.protocol ?? t.proto!;
  const packet: Packet = {
    direction: t.direction, iface, src: t.from, dst: t.to, protocol,
    ...(port ? { srcPort: 40000, dstPort: port.port } : {}),
    ...(t.icmp ? { icmpType: t.icmp.type, icmpCode: t.icmp.code } : {}),
  };
  const e = explainPacket(plan, resolveDispatch(plan.endpoints, interfaces), packet);
  return { ...base, iface, ok: e.verdict === t.expect, got: e.verdict, steps: e.steps, ...(why ? { note: why } : {}) };
}

/**
 * Runs every test. `planFor(node)` gives a node's plan (undefined: unknown node); `nodes` lists
 * every node, for tests that name none (then each node whose HEP expectedIPs hold the test's
 * local address runs it, and all of them must give the expected verdict).
 */
export function runPolicyTests(tests: readonly PolicyTest[], planFor: (node: string) => NodePlan | undefined, nodes: readonly string[] = []): PolicyTestReport {
  const results: PolicyTestResult[] = [];
  tests.forEach((t, index) => {
    const base = { index, test: t, expected: t.expect, ok: false, steps: [] as Step[] };
    if (t.node !== undefined) {
      const plan = planFor(t.node);
      if (!plan) results.push({ ...base, node: t.node, problem: `node ${t.node} is unknown (no host endpoint names it)` });
      else results.push(runOne(t, index, t.node, plan, undefined));
      return;
    }
    const local = t.direction === 'in' ? t.to : t.from;
    const chosen: [string, NodePlan, EndpointPlan][] = [];
    for (const n of nodes) {
      const plan = planFor(n);
      const hep = plan && owner(plan, local);
      if (plan && hep) chosen.push([n, plan, hep]);
    }
    if (!chosen.length) {
      results.push({ ...base, problem: `no node given, and no host endpoint has expectedIPs containing ${local} (the ${t.direction === 'in' ? 'destination' : 'source'}); give node` });
      return;
    }
    for (const [n, plan, hep] of chosen) results.push(runOne(t, index, n, plan, `node ${n} chosen: its HostEndpoint ${hep.name} has expectedIPs containing ${local}`));
  });
  const failures = results.filter((r) => !r.ok);
  return { passed: results.length - failures.length, failures, results };
}
