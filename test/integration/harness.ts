/**
 * Enforcement harness: the standard lab with responders on every host, a resources folder,
 * and the real agent (`bun src/main.ts agent`) run inside the gateway namespace. Tests state
 * flows and whether each should pass; failures name every flow that differed.
 */
import { afterAll, beforeAll, beforeEach } from 'bun:test';
import { mkdtemp, rm, writeFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { standardLab, type StandardLab, type Probe, type LabProcess } from '../lab/lab.ts';
import { enforcedLocalView, explainCheckSummary, explainMismatches, stampInForce } from '../lab/explain-check.ts';

export const MAIN = join(import.meta.dir, '../../src/main.ts');
export const isRoot = process.getuid?.() === 0;

export const GW_TCP = [22, 80, 443, 8080, 9090];
export const GW_UDP = [53, 5353];

export type Flow = Probe & { from: string; allowed: boolean };

export class EnforcementHarness {
  private constructor(readonly s: StandardLab, readonly dir: string, readonly state: string) {}

  static async create(): Promise<EnforcementHarness> {
    const s = await standardLab();
    try {
      const base = await mkdtemp(join(tmpdir(), 'outpost-test-'));
      const dir = join(base, 'resources');
      const state = join(base, 'state');
      await Bun.write(join(dir, '.keep'), '');
      await Promise.all([
        s.lab.startResponder('gw', { tcp: GW_TCP, udp: GW_UDP }),
        s.lab.startResponder('c1', { tcp: [80, 443], udp: [53] }),
        s.lab.startResponder('c2', { tcp: [80, 443], udp: [53] }),
        s.lab.startResponder('behind', { tcp: [22, 80, 443], udp: [53] }),
      ]);
      const h = new EnforcementHarness(s, dir, state);
      // Verdict = packet: every probe through this lab (mismatches() and direct lab.tcp/udp/ping)
      // must get from explain the fate the real packet got (test/lab/explain-check.ts).
      s.lab.enforcedFingerprint = () => stampInForce(s.lab, 'gw');
      s.lab.afterProbe = async (from, probes, results) =>
        explainMismatches(await enforcedLocalView(s.lab, 'gw', { resources: dir, state, argv: h.lastAgentArgs }), s, from, probes, results);
      return h;
    } catch (e) {
      await s.lab.destroy();
      throw e;
    }
  }

  get addr() {
    return this.s.addr;
  }

  /** Replaces the resources folder with these files (name → YAML text). */
  async writeResources(files: Record<string, string>): Promise<void> {
    for (const f of await readdir(this.dir)) if (!f.startsWith('.')) await rm(join(this.dir, f));
    for (const [name, text] of Object.entries(files)) await writeFile(join(this.dir, name), text);
  }

  /** The agent's last argv: the explain check renders with the same settings. */
  lastAgentArgs: readonly string[] = [];

  agentArgs(extra: string[] = []): string[] {
    this.lastAgentArgs = extra;
    return [process.execPath, MAIN, 'agent', '--config', '/dev/null', '--node', 'gw', '--resources', this.dir, '--state', this.state, ...extra];
  }

  /** Writes the resources and runs `outpost agent --once` in gw; throws with its output unless it exits 0. */
  async enforce(files: Record<string, string>, extra: string[] = []): Promise<void> {
    await this.writeResources(files);
    const r = await this.s.lab.exec('gw', this.agentArgs(['--once', ...extra]), { reject: false, timeoutMs: 30_000 });
    if (r.exitCode !== 0) throw new Error(`agent --once exited ${r.exitCode}\n${r.stderr}\n${r.stdout}`);
  }

  spawnAgent(extra: string[] = []): LabProcess {
    return this.s.lab.spawn('gw', this.agentArgs(extra));
  }

  /** Probes every flow (one batch per source host) and returns a description of each mismatch. */
  async mismatches(flows: readonly Flow[]): Promise<string[]> {
    const bySource = new Map<string, Flow[]>();
    for (const f of flows) bySource.set(f.from, [...(bySource.get(f.from) ?? []), f]);
    const out: string[] = [];
    await Promise.all(
      [...bySource.entries()].map(async ([from, fs]) => {
        const probes = fs.map(({ from: _f, allowed: _a, ...p }) => p as Probe);
        const results = await this.s.lab.probe(from, probes);
        fs.forEach((f, i) => {
          const r = results[i];
          const ok = r?.ok === true;
          if (ok !== f.allowed) {
            const what = f.kind === 'icmp' ? `icmp${f.type !== undefined ? ` type ${f.type}` : ''}` : `${f.kind}/${f.port}`;
            out.push(`${from} -> ${f.host} ${what}: expected ${f.allowed ? 'allowed' : 'denied'}, got ${r?.ok ? `allowed (${r.reply})` : `denied (${r?.error})`}`);
          }
        });
      }),
    );
    return out.sort();
  }

  async nftRuleset(): Promise<string> {
    return (await this.s.lab.exec('gw', ['nft', 'list', 'table', 'inet', 'outpost'], { reject: false })).stdout;
  }

  /** Deletes outpost's table only (a reboot: the kernel forgets, the state dir stays). */
  async deleteTable(): Promise<void> {
    await this.s.lab.exec('gw', ['nft', 'delete', 'table', 'inet', 'outpost'], { reject: false });
  }

  /** Clears outpost's table and state so the next scenario starts from an unprotected, new host. */
  async reset(): Promise<void> {
    await this.s.lab.exec('gw', ['nft', 'delete', 'table', 'inet', 'outpost'], { reject: false });
    // The state dir remembers each file's last valid resources: scenarios must not inherit them.
    await rm(this.state, { recursive: true, force: true });
  }

  async destroy(): Promise<void> {
    console.error(explainCheckSummary());
    await this.s.lab.destroy();
    await rm(join(this.dir, '..'), { recursive: true, force: true });
  }
}

export const tcp = (from: string, host: string, port: number, allowed: boolean, extra: Partial<Probe> = {}): Flow => ({ kind: 'tcp', from, host, port, allowed, ...extra }) as Flow;
export const udp = (from: string, host: string, port: number, allowed: boolean): Flow => ({ kind: 'udp', from, host, port, allowed });
export const icmp = (from: string, host: string, allowed: boolean, type?: number): Flow => ({ kind: 'icmp', from, host, allowed, ...(type === undefined ? {} : { type }) }) as Flow;

/**
 * Inside a describe: one harness for the suite, destroyed after it, with the table and state
 * cleared before every test. `set` receives it (the suite's own `let h`).
 */
export function useEnforcementHarness(set: (h: EnforcementHarness) => void): void {
  let h: EnforcementHarness | undefined;
  beforeAll(async () => {
    h = await EnforcementHarness.create();
    set(h);
  });
  afterAll(async () => {
    await h?.destroy();
  });
  beforeEach(async () => {
    await h?.reset();
  });
}
