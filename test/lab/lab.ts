// test/lab/lab.ts — owns the network-namespace lab that enforcement tests use
// to prove policy with real packets. Each Lab gets a random prefix ("op" + 4
// hex), every host is a netns "<prefix>-<name>", hosts are joined by veth
// pairs, and nothing is ever connected to the machine's own namespace.
// Addresses are confined to 198.18.0.0/15 and fd00::/8 (see addr.ts).
//
// standardLab() builds the topology most tests need:
//
//                 198.18.1.0/24            198.18.3.0/24
//                 fd00:1::/64              fd00:3::/64
//   +------+ eth0         eth1 +------+ eth3         eth0 +--------+
//   |  c1  |------------------|  gw  |-------------------| behind |
//   +------+ .2            .1  +------+ .1            .2  +--------+
//                                 | eth2 .1
//                                 |         198.18.2.0/24, fd00:2::/64
//                                 | eth0 .2
//                              +------+
//                              |  c2  |
//                              +------+
//
// gw is the protected host and forwards; c1/c2 route to behind's net via gw,
// behind routes to c1/c2's nets via gw.
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { execa } from "execa";
import { assertLabAddress, assertLabCidr, assertProbeTarget, familyOf } from "./addr.ts";
import {
  claimPrefix,
  deleteNamespaceSync,
  listNamespaces,
  releasePrefix,
  sweepStaleSync,
  track,
  untrack,
} from "./netns.ts";
import { LabProcess, type SpawnOptions } from "./proc.ts";
import { explainCheckStats } from "./explain-check.ts";
import { DEFAULT_PROBE_TIMEOUT_MS, type Probe, type ProbeResult } from "./probe-types.ts";

export { LabProcess, type SpawnOptions } from "./proc.ts";
export type { IcmpProbe, PortProbe, Probe, ProbeResult } from "./probe-types.ts";

const PROBE = join(import.meta.dir, "probe.ts");
const RESPONDER = join(import.meta.dir, "responder.ts");

export interface ExecOptions {
  /** Default true: a non-zero exit rejects (with stderr in the message). */
  reject?: boolean;
  /** Written to stdin, e.g. a ruleset for `nft -f -`. */
  input?: string;
  timeoutMs?: number;
  env?: Record<string, string>;
  cwd?: string;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  /** null when the process was ended by a signal. */
  exitCode: number | null;
}

export interface FlowOptions {
  srcPort?: number;
  srcAddr?: string;
  timeoutMs?: number;
}

export interface PingOptions {
  /** Send this ICMP(v6) type through a raw socket instead of `ping`. */
  icmpType?: number;
  icmpCode?: number;
  srcAddr?: string;
  timeoutMs?: number;
}

export interface ResponderOptions {
  tcp?: number[];
  udp?: number[];
  /** What the responder answers with; default the host name. */
  tag?: string;
}

const checkName = (what: string, name: string, max: number) => {
  if (!/^[a-z0-9]+$/.test(name) || name.length > max) {
    throw new Error(`${what} ${JSON.stringify(name)}: use 1-${max} of [a-z0-9]`);
  }
};

export class Lab {
  readonly #hosts = new Set<string>();
  readonly #procs = new Set<LabProcess>();
  #teardown: Promise<void> | undefined;

  private constructor(readonly prefix: string) {}

  /**
   * Called after every probe batch with its results; each line it returns is a disagreement and
   * fails the probe. The enforcement harnesses set it to check explain's verdict against every
   * real packet (explain-check.ts).
   */
  afterProbe: ((from: string, probes: readonly Probe[], results: readonly ProbeResult[]) => Promise<string[]>) | undefined;
  /**
   * What is enforced right now (the stamp in force), read before and after each probe: when it
   * changed while the packets were in flight, no single plan decided their fate, so afterProbe
   * is skipped for that probe (counted as not provable) rather than blaming explain for a race.
   */
  enforcedFingerprint: (() => Promise<string>) | undefined;

  /** A fresh lab; first removes leftovers of dead runs unless `sweep: false`. */
  static async create(opts: { sweep?: boolean } = {}): Promise<Lab> {
    if (opts.sweep ?? true) Lab.sweepStale();
    const taken = new Set(listNamespaces().map((ns) => ns.split("-")[0]));
    for (let attempt = 0; attempt < 50; attempt++) {
      const prefix = `op${randomBytes(2).toString("hex")}`;
      if (taken.has(prefix) || !claimPrefix(prefix)) continue;
      const lab = new Lab(prefix);
      track(lab);
      return lab;
    }
    throw new Error("no free lab prefix");
  }

  /** Deletes lab namespaces whose runner is dead; returns their names. */
  static sweepStale(): string[] {
    return sweepStaleSync();
  }

  ns(host: string): string {
    if (!this.#hosts.has(host)) throw new Error(`lab ${this.prefix} has no host ${JSON.stringify(host)}`);
    return `${this.prefix}-${host}`;
  }

  get hosts(): string[] {
    return [...this.#hosts];
  }

  get destroyed(): boolean {
    return this.#teardown !== undefined;
  }

  async addHost(name: string): Promise<string> {
    if (this.#teardown) throw new Error(`lab ${this.prefix} is destroyed`);
    checkName("host", name, 16);
    if (this.#hosts.has(name)) throw new Error(`host ${name} exists`);
    const ns = `${this.prefix}-${name}`;
    await execa("ip", ["netns", "add", ns]);
    this.#hosts.add(name);
    await execa("ip", ["-n", ns, "link", "set", "lo", "up"]);
    // No DAD at all, so link-local addresses are usable at once too.
    await this.#sysctl(name, ["net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0"]);
    return ns;
  }

  /** A veth pair `aIf` (in a) <-> `bIf` (in b), addressed and up. */
  async link(a: string, aIf: string, aAddrs: string[], b: string, bIf: string, bAddrs: string[]): Promise<void> {
    checkName("interface", aIf, 15);
    checkName("interface", bIf, 15);
    for (const cidr of [...aAddrs, ...bAddrs]) assertLabCidr(cidr);
    const [nsA, nsB] = [this.ns(a), this.ns(b)];
    // Created inside a and b directly: never visible in the root namespace,
    // so names like eth1 cannot clash with the machine's own.
    await execa("ip", ["-n", nsA, "link", "add", aIf, "type", "veth", "peer", "name", bIf, "netns", nsB]);
    await Promise.all([
      execa("ip", ["-n", nsA, "link", "set", aIf, "up"]),
      execa("ip", ["-n", nsB, "link", "set", bIf, "up"]),
    ]);
    const batch = (ifname: string, addrs: string[]) =>
      addrs.map((c) => `addr add ${c} dev ${ifname}${familyOf(c.split("/")[0] ?? "") === 6 ? " nodad" : ""}`).join("\n");
    await Promise.all([
      execa("ip", ["-n", nsA, "-batch", "-"], { input: batch(aIf, aAddrs) }),
      execa("ip", ["-n", nsB, "-batch", "-"], { input: batch(bIf, bAddrs) }),
    ]);
  }

  /** `dst` is a lab CIDR, a bare lab address, or "default" (harmless: the
   * namespace only has lab links). */
  async route(host: string, dst: string, via: string): Promise<void> {
    const fam = assertLabAddress(via);
    if (dst !== "default") {
      const dstFam = dst.includes("/") ? assertLabCidr(dst) : assertLabAddress(dst);
      if (dstFam !== fam) throw new Error(`route ${dst} via ${via}: mixed address families`);
    }
    await execa("ip", ["-n", this.ns(host), `-${fam}`, "route", "replace", dst, "via", via]);
  }

  async forwarding(host: string, on: boolean): Promise<void> {
    const v = on ? "1" : "0";
    await this.#sysctl(host, [`net.ipv4.ip_forward=${v}`, `net.ipv6.conf.all.forwarding=${v}`]);
  }

  async exec(host: string, argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    const r = await execa("ip", ["netns", "exec", this.ns(host), ...argv], {
      reject: opts.reject ?? true,
      ...(opts.input !== undefined ? { input: opts.input } : { stdin: "ignore" as const }),
      ...(opts.timeoutMs !== undefined ? { timeout: opts.timeoutMs } : {}),
      ...(opts.env ? { env: opts.env } : {}),
      ...(opts.cwd ? { cwd: opts.cwd } : {}),
    });
    return { stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode ?? null };
  }

  /** A long-running process, stopped by destroy(). */
  spawn(host: string, argv: readonly string[], opts: SpawnOptions = {}): LabProcess {
    if (this.#teardown) throw new Error(`lab ${this.prefix} is destroyed`);
    const p = new LabProcess(host, this.ns(host), argv, opts);
    this.#procs.add(p);
    void p.exited.then(() => this.#procs.delete(p));
    return p;
  }

  /** Runs every probe concurrently from `from`, in one process. */
  async probe(from: string, probes: readonly Probe[], opts: { timeoutMs?: number } = {}): Promise<ProbeResult[]> {
    for (const p of probes) {
      assertProbeTarget(p.host);
      if (p.srcAddr !== undefined) assertProbeTarget(p.srcAddr);
    }
    if (probes.length === 0) return [];
    const timeoutMs = opts.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS;
    const argv = [process.execPath, PROBE, "--timeout", String(timeoutMs), JSON.stringify(probes)];
    const before = this.afterProbe && this.enforcedFingerprint ? await this.enforcedFingerprint() : undefined;
    const r = await this.exec(from, argv, { reject: false });
    const line = r.stdout.trim().split("\n").pop() ?? "";
    if (r.exitCode !== 0 || !line.startsWith("[")) {
      throw new Error(`probe from ${from} failed (exit ${r.exitCode}): ${r.stderr.trim() || r.stdout.trim()}`);
    }
    const results = JSON.parse(line) as ProbeResult[];
    if (results.length !== probes.length) throw new Error(`probe returned ${results.length}/${probes.length}`);
    const raced = before !== undefined && before !== (await this.enforcedFingerprint!());
    if (raced) explainCheckStats.unknownPlan += probes.length;
    const disagreements = this.afterProbe && !raced ? await this.afterProbe(from, probes, results) : [];
    if (disagreements.length) throw new Error(disagreements.join("\n"));
    return results;
  }

  async tcp(from: string, host: string, port: number, opts: FlowOptions = {}): Promise<boolean> {
    return this.#flow("tcp", from, host, port, opts);
  }

  async udp(from: string, host: string, port: number, opts: FlowOptions = {}): Promise<boolean> {
    return this.#flow("udp", from, host, port, opts);
  }

  /** Echo via `ping -c1`, or any ICMP type via a raw-socket probe. */
  async ping(from: string, addr: string, opts: PingOptions = {}): Promise<boolean> {
    const fam = assertProbeTarget(addr);
    const timeoutMs = opts.timeoutMs ?? 1000;
    if (opts.icmpType !== undefined || opts.icmpCode !== undefined) {
      const [r] = await this.probe(
        from,
        [
          {
            kind: "icmp",
            host: addr,
            ...(opts.icmpType !== undefined ? { type: opts.icmpType } : {}),
            ...(opts.icmpCode !== undefined ? { code: opts.icmpCode } : {}),
            ...(opts.srcAddr !== undefined ? { srcAddr: opts.srcAddr } : {}),
          },
        ],
        { timeoutMs },
      );
      return r?.ok ?? false;
    }
    if (opts.srcAddr !== undefined) assertProbeTarget(opts.srcAddr);
    const src = opts.srcAddr !== undefined ? ["-I", opts.srcAddr] : [];
    const argv = ["ping", `-${fam}`, "-n", "-c1", "-W", String(timeoutMs / 1000), ...src, addr];
    return (await this.exec(from, argv, { reject: false })).exitCode === 0;
  }

  /** Starts responder.ts in `host` and resolves once every port is bound. */
  async startResponder(host: string, opts: ResponderOptions = {}): Promise<LabProcess> {
    const argv = [process.execPath, RESPONDER, "--tag", opts.tag ?? host];
    if (opts.tcp?.length) argv.push("--tcp", opts.tcp.join(","));
    if (opts.udp?.length) argv.push("--udp", opts.udp.join(","));
    const p = this.spawn(host, argv);
    await p.waitFor(/^ready$/, 5000);
    return p;
  }

  /** Stops every spawned process (TERM, KILL after 2 s), deletes every
   * namespace. Idempotent; concurrent calls share one teardown. */
  destroy(): Promise<void> {
    this.#teardown ??= (async () => {
      await Promise.all([...this.#procs].map((p) => p.stop(2000)));
      this.destroySync();
    })();
    return this.#teardown;
  }

  /** The synchronous part of destroy(), also run by exit handlers. */
  destroySync(): void {
    this.#teardown ??= Promise.resolve();
    for (const p of this.#procs) p.killSync();
    for (const host of this.#hosts) deleteNamespaceSync(`${this.prefix}-${host}`);
    this.#hosts.clear();
    releasePrefix(this.prefix);
    untrack(this);
  }

  async #flow(kind: "tcp" | "udp", from: string, host: string, port: number, o: FlowOptions): Promise<boolean> {
    const probe: Probe = {
      kind,
      host,
      port,
      ...(o.srcPort !== undefined ? { srcPort: o.srcPort } : {}),
      ...(o.srcAddr !== undefined ? { srcAddr: o.srcAddr } : {}),
    };
    const [r] = await this.probe(from, [probe], o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {});
    return r?.ok ?? false;
  }

  async #sysctl(host: string, settings: string[]): Promise<void> {
    await this.exec(host, ["sysctl", "-q", "-w", ...settings]);
  }
}

/** Runs `fn` with a fresh lab that is destroyed however `fn` ends. */
export async function withLab<T>(fn: (lab: Lab) => Promise<T>): Promise<T> {
  const lab = await Lab.create();
  try {
    return await fn(lab);
  } finally {
    await lab.destroy();
  }
}

export interface AddrPair {
  v4: string;
  v6: string;
}

export interface StandardLab {
  lab: Lab;
  /** Host addresses (no prefix length), e.g. addr.gw.eth1.v4 = "198.18.1.1". */
  addr: {
    gw: { eth1: AddrPair; eth2: AddrPair; eth3: AddrPair };
    c1: AddrPair;
    c2: AddrPair;
    behind: AddrPair;
  };
  /** Link networks in CIDR form, keyed by the non-gw host on the link. */
  net: { c1: AddrPair; c2: AddrPair; behind: AddrPair };
  /** gw's interface towards each host. */
  gwIf: { c1: "eth1"; c2: "eth2"; behind: "eth3" };
}

/** Builds the diagrammed topology in `lab` (or a new lab the caller destroys). */
export async function standardLab(existing?: Lab): Promise<StandardLab> {
  const lab = existing ?? (await Lab.create());
  const pair = (n: number, h: number): AddrPair => ({ v4: `198.18.${n}.${h}`, v6: `fd00:${n}::${h}` });
  const net = (n: number): AddrPair => ({ v4: `198.18.${n}.0/24`, v6: `fd00:${n}::/64` });
  const withLen = (p: AddrPair) => [`${p.v4}/24`, `${p.v6}/64`];
  const s: StandardLab = {
    lab,
    addr: { gw: { eth1: pair(1, 1), eth2: pair(2, 1), eth3: pair(3, 1) }, c1: pair(1, 2), c2: pair(2, 2), behind: pair(3, 2) },
    net: { c1: net(1), c2: net(2), behind: net(3) },
    gwIf: { c1: "eth1", c2: "eth2", behind: "eth3" },
  };
  try {
    await Promise.all(["gw", "c1", "c2", "behind"].map((h) => lab.addHost(h)));
    await Promise.all([
      lab.link("gw", "eth1", withLen(s.addr.gw.eth1), "c1", "eth0", withLen(s.addr.c1)),
      lab.link("gw", "eth2", withLen(s.addr.gw.eth2), "c2", "eth0", withLen(s.addr.c2)),
      lab.link("gw", "eth3", withLen(s.addr.gw.eth3), "behind", "eth0", withLen(s.addr.behind)),
      lab.forwarding("gw", true),
    ]);
    const routes: Promise<void>[] = [];
    for (const c of ["c1", "c2"] as const) {
      const gw = s.addr.gw[s.gwIf[c]];
      routes.push(lab.route(c, s.net.behind.v4, gw.v4), lab.route(c, s.net.behind.v6, gw.v6));
      routes.push(lab.route("behind", s.net[c].v4, s.addr.gw.eth3.v4));
      routes.push(lab.route("behind", s.net[c].v6, s.addr.gw.eth3.v6));
    }
    await Promise.all(routes);
  } catch (e) {
    if (!existing) await lab.destroy();
    throw e;
  }
  return s;
}
