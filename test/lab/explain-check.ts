/**
 * Verdict = packet: after a batch of real probes through the standard lab's gateway, `explain`
 * computes each flow's fate from the node plan the gateway enforces, and any flow whose real
 * fate differs is reported with both and explain's steps.
 *
 * "The plan the gateway enforces" is proven, not assumed: the candidate plan (computed the way
 * the agent computes it) is rendered for gw's live interfaces and its table digest must equal the
 * stamp in gw's `inet outpost` table. When it does not (a test that corrupts the table, a refused
 * apply, an agent mid-change), the batch is not checked and the reason is returned.
 *
 * A flow is the request and its reply; both must pass. The reply is conntrack "established"
 * unless untracked policy let the request through (then conntrack never saw it).
 */
import { resolveDispatch, type Dispatch, type HostInterface } from "../../src/calc/dispatch.ts";
import { hostPlan } from "../../src/explain/plan-source.ts";
import { renderRuleset, resultOf, DEFAULT_RENDER_OPTIONS } from "../../src/render/ruleset.ts";
import { explainPacket, type Packet } from "../../src/explain/engine.ts";
import { STAMP_SET, tableStamp, stampOf } from "../../src/nft/stamp.ts";
import { verifyListing } from "../../src/nft/verify.ts";
import type { DesiredTable } from "../../src/render/table-model.ts";
import type { NodePlan } from "../../src/plan/schema.ts";
import { cidrContains, parseCidr } from "../../src/net/cidr.ts";
import type { Lab, Probe, ProbeResult, StandardLab } from "./lab.ts";

const HOST_INTERFACES = new URL("../../src/agent/host-interfaces.ts", import.meta.url).pathname;

export interface EnforcedView {
  readonly plan: NodePlan;
  readonly dispatch: Dispatch;
  readonly loopback: "exempt" | "policy";
}

/** The agent settings that shape the rendered table beyond the resources (from its argv). */
export function agentFlags(argv: readonly string[]): { failsafeInbound?: string; failsafeOutbound?: string; loopback: "exempt" | "policy"; node: string } {
  const get = (flag: string): string | undefined => {
    let v: string | undefined;
    argv.forEach((a, i) => {
      if (a === flag) v = argv[i + 1];
      else if (a.startsWith(`${flag}=`)) v = a.slice(flag.length + 1);
    });
    return v;
  };
  const fi = get("--failsafe-inbound");
  const fo = get("--failsafe-outbound");
  return {
    ...(fi !== undefined ? { failsafeInbound: fi } : {}),
    ...(fo !== undefined ? { failsafeOutbound: fo } : {}),
    loopback: get("--loopback") === "policy" ? "policy" : "exempt",
    node: get("--node") ?? "gw",
  };
}

/** gw's interfaces exactly as the agent reads them (its own function, run inside the namespace). */
export async function labInterfaces(lab: Lab, host: string): Promise<HostInterface[]> {
  const code = `import { readHostInterfaces } from ${JSON.stringify(HOST_INTERFACES)}; console.log(JSON.stringify(readHostInterfaces()));`;
  const r = await lab.exec(host, [process.execPath, "-e", code]);
  return JSON.parse(r.stdout.trim()) as HostInterface[];
}

/** The stamp in force on `host` ("" when there is no outpost table): Lab.enforcedFingerprint. */
export async function stampInForce(lab: Lab, host: string): Promise<string> {
  const r = await lab.exec(host, ["nft", "-j", "list", "set", "inet", "outpost", STAMP_SET], { reject: false });
  return r.exitCode === 0 ? String(stampOf(JSON.parse(r.stdout) as unknown) ?? "") : "";
}

/**
 * Why `table` is not what gw's kernel holds, or undefined when it is: the stamp (the digest of
 * our last transaction) and, since a test may tamper with the table behind the stamp's back, the
 * structure too (chains, rule counts, sets and set sizes).
 */
async function notInForce(lab: Lab, host: string, table: DesiredTable): Promise<string | undefined> {
  const r = await lab.exec(host, ["nft", "-j", "list", "table", "inet", "outpost"], { reject: false });
  if (r.exitCode !== 0) return "no outpost table in force";
  const listing = JSON.parse(r.stdout) as unknown;
  if (tableStamp(table) !== stampOf(listing)) return "the stamp in force is another table's (changed, refused, rolled back or degraded)";
  const problems = verifyListing(listing, resultOf(table), [STAMP_SET]);
  return problems.length ? `the table in force was changed behind outpost's back (${problems[0]})` : undefined;
}

/**
 * The plan a local-mode agent with `argv` enforces on `host`, from its resources folder and the
 * last valid versions in its state dir (read from a copy: the agent's lock is never taken), or
 * why it cannot be proven.
 */
export async function enforcedLocalView(lab: Lab, host: string, o: { resources: string; state: string; argv: readonly string[] }): Promise<EnforcedView | string> {
  const flags = agentFlags(o.argv);
  // explain's own host-mode source: the agent's resources and its recorded last valid versions.
  const { plan } = await hostPlan({ node: flags.node, state: o.state, resources: [o.resources], trustKey: undefined, failsafeInbound: flags.failsafeInbound, failsafeOutbound: flags.failsafeOutbound });
  const interfaces = await labInterfaces(lab, host);
  const dispatch = resolveDispatch(plan.endpoints, interfaces);
  const why = await notInForce(lab, host, renderRuleset(plan, dispatch, { ...DEFAULT_RENDER_OPTIONS, loopback: flags.loopback }).table);
  if (why !== undefined) return why;
  return { plan, dispatch, loopback: flags.loopback };
}

type Fate = "allow" | "deny";
export interface FlowCheck {
  readonly fate: Fate | undefined;
  /** Why the fate is unknown, or the steps behind it. */
  readonly detail: string[];
}

const EPHEMERAL = [32768, 46000, 60999];

const inNet = (net: string, addr: string): boolean => {
  const n = parseCidr(net);
  const a = parseCidr(addr);
  return !!n && !!a && cidrContains(n, a);
};

/** Where a probe from `from` meets gw: direction, interfaces, addresses. */
function route(s: StandardLab, from: string, p: Probe): { dir: "in" | "out" | "forward" | "local"; iif: string; oif: string; src: string } | undefined {
  const fam = p.host.includes(":") ? "v6" : "v4";
  const gwAddrs = Object.values(s.addr.gw).map((a) => a[fam]);
  const gwIfOf = (addr: string): string | undefined => (Object.keys(s.net) as (keyof StandardLab["net"])[]).filter((h) => inNet(s.net[h][fam], addr)).map((h) => s.gwIf[h])[0];
  const isGw = gwAddrs.includes(p.host) || p.host === "127.0.0.1" || p.host === "::1";
  if (from === "gw") {
    if (isGw) return { dir: "local", iif: "lo", oif: "lo", src: p.srcAddr ?? p.host };
    const oif = gwIfOf(p.host);
    if (!oif) return undefined;
    return { dir: "out", iif: "", oif, src: p.srcAddr ?? s.addr.gw[oif as "eth1"][fam] };
  }
  const hostAddr = (s.addr as unknown as Record<string, Record<string, string> | undefined>)[from];
  const iif = (s.gwIf as Record<string, string>)[from];
  if (!hostAddr || !iif) return undefined;
  const src = p.srcAddr ?? hostAddr[fam]!;
  if (isGw) return { dir: "in", iif, oif: "", src };
  const oif = gwIfOf(p.host);
  return oif ? { dir: "forward", iif, oif, src } : undefined;
}

function packetsOf(p: Probe, srcPort: number, r: NonNullable<ReturnType<typeof route>>): { req: Omit<Packet, "direction" | "iface">; reply: Omit<Packet, "direction" | "iface" | "ct">; echo: boolean } {
  if (p.kind === "icmp") {
    const v6 = p.host.includes(":");
    const type = p.type ?? (v6 ? 128 : 8);
    const proto = v6 ? 58 : 1;
    const echo = type === (v6 ? 128 : 8);
    return {
      req: { src: r.src, dst: p.host, protocol: proto, icmpType: type, icmpCode: p.code ?? 0 },
      reply: { src: p.host, dst: r.src, protocol: proto, icmpType: v6 ? 129 : 0, icmpCode: 0 },
      echo,
    };
  }
  const protocol = p.kind === "tcp" ? 6 : 17;
  return {
    req: { src: r.src, dst: p.host, protocol, srcPort: p.srcPort ?? srcPort, dstPort: p.port },
    reply: { src: p.host, dst: r.src, protocol, srcPort: p.port, dstPort: p.srcPort ?? srcPort },
    echo: true,
  };
}

/** The fate explain gives one probe through gw, with its source port fixed. */
function fateAt(view: EnforcedView, s: StandardLab, from: string, p: Probe, srcPort: number): FlowCheck {
  const r = route(s, from, p);
  if (!r) return { fate: undefined, detail: ["not a flow through the standard lab's gateway"] };
  const { req, reply, echo } = packetsOf(p, srcPort, r);
  const run = (pk: Packet) => explainPacket(view.plan, view.dispatch, pk, { loopback: view.loopback });
  const legs: [string, Packet][] = [];
  const steps: string[] = [];
  const leg = (what: string, pk: Packet): ReturnType<typeof run> => {
    const e = run(pk);
    steps.push(`${what} (${pk.direction} ${pk.iface}${pk.outIface ? `->${pk.outIface}` : ""}, ct ${pk.ct ?? "new"}): ${e.verdict}`, ...e.steps.map((x) => `  ${x.text}`));
    legs.push([what, pk]);
    return e;
  };
  const replyCt = (untracked: boolean | undefined): Packet["ct"] => (untracked ? (p.kind === "udp" ? "new" : "invalid") : "established");
  if (r.dir === "local") {
    const out = leg("request", { ...req, direction: "out", iface: "lo" });
    if (out.untracked) return { fate: undefined, detail: ["untracked policy on a local flow: conntrack state on lo not modelled"] };
    if (out.verdict === "deny") return { fate: "deny", detail: steps };
    const inn = leg("request", { ...req, direction: "in", iface: "lo" });
    if (inn.verdict === "deny" || !echo) return { fate: inn.verdict === "deny" ? "deny" : undefined, detail: steps };
    const back = [run({ ...reply, direction: "out", iface: "lo", ct: "established" }), run({ ...reply, direction: "in", iface: "lo", ct: "established" })];
    return { fate: back.every((b) => b.verdict === "allow") ? "allow" : "deny", detail: steps };
  }
  const first: Packet = r.dir === "forward" ? { ...req, direction: "forward", iface: r.iif, outIface: r.oif } : r.dir === "in" ? { ...req, direction: "in", iface: r.iif } : { ...req, direction: "out", iface: r.oif };
  const e = leg("request", first);
  if (e.verdict === "deny") return { fate: "deny", detail: steps };
  if (!echo) return { fate: undefined, detail: ["allowed one way; whether the target answers this ICMP type is not policy's"] };
  const ct = replyCt(e.untracked);
  const back: Packet = r.dir === "forward" ? { ...reply, direction: "forward", iface: r.oif, outIface: r.iif, ct } : r.dir === "in" ? { ...reply, direction: "out", iface: r.iif, ct } : { ...reply, direction: "in", iface: r.oif, ct };
  const b = leg("reply", back);
  return { fate: b.verdict, detail: steps };
}

/** Explain's fate for one probe, or undefined when it depends on the (random) source port. */
export function explainFate(view: EnforcedView, s: StandardLab, from: string, p: Probe): FlowCheck {
  const ports = p.kind !== "icmp" && p.srcPort === undefined ? EPHEMERAL : [0];
  const all = ports.map((port) => fateAt(view, s, from, p, port));
  if (all.some((a) => a.fate !== all[0]!.fate)) return { fate: undefined, detail: ["the fate depends on the ephemeral source port"] };
  return all[0]!;
}

/** The real fate of a probe: reached the target (answered or refused), did not, or unclear. */
export function observedFate(r: ProbeResult | undefined): Fate | undefined {
  if (!r) return undefined;
  if (r.ok || r.error === "refused") return "allow";
  if (r.error === "timeout") return "deny";
  return undefined;
}

/** Counts for the suites' logs (how many probes were checked against explain). */
export const explainCheckStats = { checked: 0, unknownPlan: 0, unknownFlow: 0 };
/** OUTPOST_EXPLAIN_CHECK_LOG=1: one stderr line per probe batch (what was compared, or why not). */
const verbose = process.env["OUTPOST_EXPLAIN_CHECK_LOG"] === "1";
export const explainCheckSummary = (): string => {
  const x = explainCheckStats;
  return `explain = packet: ${x.checked} flows compared, ${x.unknownFlow} not comparable, ${x.unknownPlan} probed while the plan in force was not provable`;
};

/**
 * Compares explain with the real results of one probe batch from `from`; returns a line per
 * disagreement. `view` is the proven plan, or why there is none (then nothing is compared).
 */
export function explainMismatches(view: EnforcedView | string, s: StandardLab, from: string, probes: readonly Probe[], results: readonly ProbeResult[], opts: { alsoEnforcing?: readonly string[] } = {}): string[] {
  if (typeof view === "string") {
    explainCheckStats.unknownPlan += probes.length;
    if (verbose) process.stderr.write(`explain check: ${probes.length} probe(s) from ${from} not compared: ${view}\n`);
    return [];
  }
  const out: string[] = [];
  probes.forEach((p, i) => {
    const seen = observedFate(results[i]);
    // A flow to or from another protected host is decided there too, by a plan not checked here.
    const peers = (["c1", "c2", "behind"] as const).filter((h) => h === from || s.addr[h].v4 === p.host || s.addr[h].v6 === p.host);
    const other = peers.find((h) => opts.alsoEnforcing?.includes(h));
    const want = other ? { fate: undefined, detail: [`${other} enforces its own policy too`] } : explainFate(view, s, from, p);
    if (seen === undefined || want.fate === undefined) {
      explainCheckStats.unknownFlow++;
      if (verbose) process.stderr.write(`explain check: ${from} -> ${p.host} not comparable: ${seen === undefined ? `probe result ${JSON.stringify(results[i])}` : want.detail[0]}\n`);
      return;
    }
    explainCheckStats.checked++;
    if (verbose) process.stderr.write(`explain check: ${from} -> ${p.host} ${p.kind}${"port" in p ? `/${p.port}` : ""}: explain ${want.fate}, packet ${seen}\n`);
    if (seen !== want.fate) {
      const what = p.kind === "icmp" ? `icmp${p.type !== undefined ? ` type ${p.type}` : ""}` : `${p.kind}/${p.port}`;
      out.push(`explain disagrees with the packet: ${from} -> ${p.host} ${what}: explain says ${want.fate}, the packet was ${seen === "allow" ? "allowed" : "denied"} (${JSON.stringify(results[i])})\n${want.detail.join("\n")}`);
    }
  });
  return out;
}

/**
 * The plan a relay-mode (or bundle) agent on `host` enforces: the verified snapshot in its cache
 * with the broker path it keeps open, proven against the stamp in force like enforcedLocalView.
 */
export async function enforcedSnapshotView(lab: Lab, host: string, o: { state: string; trustKey: string; broker?: string; node?: string }): Promise<EnforcedView | string> {
  let plan: NodePlan;
  try {
    plan = (await hostPlan({ node: o.node ?? host, state: o.state, resources: undefined, trustKey: [o.trustKey], failsafeInbound: undefined, failsafeOutbound: undefined, ...(o.broker ? { broker: o.broker } : {}) })).plan;
  } catch (e) {
    return `no verified snapshot in the agent's cache: ${(e as Error).message}`;
  }
  const interfaces = await labInterfaces(lab, host);
  const dispatch = resolveDispatch(plan.endpoints, interfaces);
  const why = await notInForce(lab, host, renderRuleset(plan, dispatch, DEFAULT_RENDER_OPTIONS).table);
  if (why !== undefined) return why;
  return { plan, dispatch, loopback: "exempt" };
}

/** A plan the test rendered itself (no agent): proven in force when its table's digest is the stamp. */
export async function provenView(lab: Lab, host: string, known: { plan: NodePlan; interfaces: readonly HostInterface[]; loopback?: "exempt" | "policy" } | undefined): Promise<EnforcedView | string> {
  if (!known) return "no plan rendered yet";
  const loopback = known.loopback ?? "exempt";
  const dispatch = resolveDispatch(known.plan.endpoints, known.interfaces);
  const why = await notInForce(lab, host, renderRuleset(known.plan, dispatch, { ...DEFAULT_RENDER_OPTIONS, loopback }).table);
  if (why !== undefined) return why;
  return { plan: known.plan, dispatch, loopback };
}
