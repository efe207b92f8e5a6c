// test/integration/lab.test.ts — proves the namespace lab itself: that it can
// observe both "allowed" and "blocked" with real packets (so enforcement tests
// built on it mean something), and that it never leaves namespaces behind.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { execa } from "execa";
import { mkdirSync } from "node:fs";
import { Lab, standardLab, withLab, type Probe, type StandardLab } from "../lab/lab.ts";

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn("lab.test.ts: skipped, network namespaces and nftables need root");
const labTest = test.skipIf(!isRoot);

async function namespaces(): Promise<string[]> {
  const { stdout } = await execa("ip", ["netns", "list"]);
  return stdout
    .split("\n")
    .map((l) => l.split(" ")[0] ?? "")
    .filter(Boolean);
}

const ours = async (prefix: string) => (await namespaces()).filter((n) => n.startsWith(`${prefix}-`));

describe("standard lab", () => {
  let s: StandardLab | undefined;
  const std = (): StandardLab => {
    if (!s) throw new Error("standard lab was not built");
    return s;
  };

  beforeAll(async () => {
    if (!isRoot) return;
    s = await standardLab();
    await Promise.all([
      s.lab.startResponder("gw", { tcp: [22, 80], udp: [53] }),
      s.lab.startResponder("behind", { tcp: [22, 80], udp: [53] }),
    ]);
  });

  afterAll(async () => {
    await s?.lab.destroy();
  });

  labTest("c1 reaches gw and, forwarded, behind: TCP, UDP and ICMP over v4 and v6", async () => {
    const { lab, addr } = std();
    const probes: Probe[] = [];
    for (const fam of ["v4", "v6"] as const) {
      for (const host of [addr.gw.eth1[fam], addr.behind[fam]]) {
        probes.push({ kind: "tcp", host, port: 22 }, { kind: "tcp", host, port: 80 });
        probes.push({ kind: "udp", host, port: 53 }, { kind: "icmp", host });
      }
    }
    const results = await lab.probe("c1", probes);
    results.forEach((r, i) => expect({ probe: probes[i], ok: r.ok }).toEqual({ probe: probes[i], ok: true }));
    const replies = results.map((r) => (r.ok ? r.reply : r.error));
    expect(replies).toEqual([
      ...["gw", "gw", "gw", "0/0", "behind", "behind", "behind", "0/0"],
      ...["gw", "gw", "gw", "129/0", "behind", "behind", "behind", "129/0"],
    ]);
    const pings = await Promise.all([
      lab.ping("c1", addr.gw.eth1.v4),
      lab.ping("c1", addr.gw.eth1.v6),
      lab.ping("c1", addr.behind.v4),
      lab.ping("c1", addr.behind.v6),
      lab.ping("c1", addr.gw.eth1.v4, { icmpType: 13 }), // timestamp request
    ]);
    expect(pings).toEqual([true, true, true, true, true]);
  });

  labTest("observes the negative outcomes too", async () => {
    const { lab, addr } = std();
    const results = await lab.probe("c1", [
      { kind: "tcp", host: addr.gw.eth1.v4, port: 23 }, // nothing listens
      { kind: "udp", host: addr.gw.eth1.v6, port: 54 },
      { kind: "udp", host: addr.gw.eth2.v6, port: 53 }, // c1 has no route to c2's net
      { kind: "tcp", host: addr.c2.v4, port: 80 },
    ]);
    expect(results.slice(0, 3)).toEqual([
      { ok: false, error: "refused" },
      { ok: false, error: "refused" },
      { ok: false, error: "unreachable" },
    ]);
    // ENETUNREACH; Bun 1.x reports every failed TCP connect as ECONNREFUSED.
    expect(results[3]?.ok).toBe(false);
    expect(await lab.tcp("c1", addr.gw.eth1.v4, 22, { srcPort: 5022 })).toBe(true);
    expect(await lab.udp("c1", addr.gw.eth1.v6, 53, { srcPort: 5053, srcAddr: addr.c1.v6 })).toBe(true);
  });

  labTest("an nft drop rule in gw is visible: tcp/22 times out, tcp/80 still answers", async () => {
    const { lab, addr } = std();
    const ruleset = [
      "table inet labtest {",
      "  chain input {",
      "    type filter hook input priority 0; policy accept;",
      "    tcp dport 22 drop",
      "  }",
      "}",
    ].join("\n");
    await lab.exec("gw", ["nft", "-f", "-"], { input: ruleset });
    try {
      const flows: Probe[] = [
        { kind: "tcp", host: addr.gw.eth1.v4, port: 22 },
        { kind: "tcp", host: addr.gw.eth1.v6, port: 22 },
        { kind: "tcp", host: addr.gw.eth1.v4, port: 80 },
        { kind: "tcp", host: addr.gw.eth1.v6, port: 80 },
        // The input hook does not see forwarded traffic.
        { kind: "tcp", host: addr.behind.v4, port: 22 },
      ];
      const results = await lab.probe("c1", flows, { timeoutMs: 400 });
      expect(results.map((r) => (r.ok ? r.reply : r.error))).toEqual(["timeout", "timeout", "gw", "gw", "behind"]);
    } finally {
      await lab.exec("gw", ["nft", "delete", "table", "inet", "labtest"]);
    }
    expect(await lab.tcp("c1", addr.gw.eth1.v4, 22)).toBe(true);
  });

  labTest("refuses addresses outside 198.18.0.0/15 and fd00::/8", async () => {
    const { lab } = std();
    await expect(lab.link("c1", "x1", ["10.0.0.1/24"], "c2", "x1", [])).rejects.toThrow(/outside/);
    await expect(lab.link("c1", "x1", ["198.18.0.1/8"], "c2", "x1", [])).rejects.toThrow(/wider/);
    await expect(lab.route("c1", "2001:db8::/64", "fd00:1::1")).rejects.toThrow(/outside/);
    await expect(lab.route("c1", "198.18.9.0/24", "192.168.1.1")).rejects.toThrow(/outside/);
    await expect(lab.probe("c1", [{ kind: "tcp", host: "1.1.1.1", port: 53 }])).rejects.toThrow(/outside/);
  });
});

describe("lab lifecycle", () => {
  labTest("destroy() stops processes and deletes every namespace, idempotently", async () => {
    const lab = await Lab.create();
    try {
      await Promise.all(["a", "b"].map((h) => lab.addHost(h)));
      await lab.link("a", "eth0", ["198.18.200.1/30"], "b", "eth0", ["198.18.200.2/30"]);
      const sleeper = lab.spawn("a", ["sleep", "60"]);
      expect(await ours(lab.prefix)).toHaveLength(2);
      await Promise.all([lab.destroy(), lab.destroy()]);
      expect(await sleeper.exited).toBeNull(); // ended by a signal
      expect(await ours(lab.prefix)).toEqual([]);
      await lab.destroy();
    } finally {
      await lab.destroy();
    }
  });

  labTest("withLab cleans up when the body throws", async () => {
    let prefix = "";
    const boom = withLab(async (lab) => {
      prefix = lab.prefix;
      await lab.addHost("x");
      throw new Error("boom");
    });
    await expect(boom).rejects.toThrow("boom");
    expect(await ours(prefix)).toEqual([]);
  });

  labTest("a runner that dies without destroy() leaves nothing behind", async () => {
    const script = `
      import { Lab } from ${JSON.stringify(`${import.meta.dir}/../lab/lab.ts`)};
      const lab = await Lab.create({ sweep: false });
      await lab.addHost("h");
      lab.spawn("h", ["sleep", "60"]);
      console.log(lab.prefix);
      if (process.argv.includes("crash")) process.exit(3);
      setInterval(() => {}, 1000);`;
    const crashed = await execa(process.execPath, ["-e", script, "crash"], { reject: false });
    expect(crashed.exitCode).toBe(3);
    expect(crashed.stdout.trim()).toMatch(/^op[0-9a-f]{4}$/);
    expect(await ours(crashed.stdout.trim())).toEqual([]);

    const child = execa(process.execPath, ["-e", script], { reject: false });
    try {
      const prefix = await new Promise<string>((resolve) =>
        child.stdout.once("data", (d: Buffer) => resolve(String(d).trim())),
      );
      expect(await ours(prefix)).toEqual([`${prefix}-h`]);
      child.kill("SIGTERM");
      await child;
      expect(await ours(prefix)).toEqual([]);
    } finally {
      child.kill("SIGTERM");
    }
  });

  labTest("sweepStale() removes a dead runner's namespaces, not a live one's", async () => {
    await withLab(async (live) => {
      await live.addHost("keep");
      const dead = execa("true");
      await dead;
      let prefix = live.prefix;
      while (prefix === live.prefix) prefix = `op${Math.floor(Math.random() * 0x10000).toString(16).padStart(4, "0")}`;
      mkdirSync("/run/outpost-lab", { recursive: true });
      // A marker whose pid has exited, as a crashed runner would leave.
      await Bun.write(`/run/outpost-lab/${prefix}.json`, JSON.stringify({ pid: dead.pid, start: "0" }));
      await execa("ip", ["netns", "add", `${prefix}-stale`]);
      try {
        const swept = Lab.sweepStale();
        expect(swept).toContain(`${prefix}-stale`);
        expect(swept).not.toContain(`${live.prefix}-keep`);
        expect(await ours(live.prefix)).toEqual([`${live.prefix}-keep`]);
        expect(await ours(prefix)).toEqual([]);
      } finally {
        await execa("ip", ["netns", "del", `${prefix}-stale`], { reject: false });
      }
    });
  });
});
