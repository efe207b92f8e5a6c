/**
 * The demo site in network namespaces, built with the test lab: gw routes between five /24s,
 * one per leaf host. hub runs the relay with its embedded broker; gw, web and db run the agent
 * and reach the broker across the site, so their own policy could cut them off if the agent's
 * broker failsafe did not hold.
 *
 *   admin    198.18.1.10 ─ eth1 ┐                    ┌ eth3 ─ web 198.18.3.10  agent
 *                               ├ gw (agent, router) ┼ eth4 ─ db  198.18.4.10  agent
 *   internet 198.18.2.10 ─ eth2 ┘                    └ eth5 ─ hub 198.18.5.10  relay + embedded broker
 *
 * Everything lives in the lab's namespaces and in one work directory; destroy() removes both,
 * and an exit handler does the same if the demo is interrupted.
 */
import { copyFile, mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lab, type LabProcess } from '../../test/lab/lab.ts';
import { listNamespaces } from '../../test/lab/netns.ts';
import { BROKER_PORT, NETS, RESOURCES, SERVICES, gwAddr, gwIf, leafAddr, type Flow, type Leaf, type Node } from './scenario.ts';

const LEAVES = Object.keys(NETS) as Leaf[];
const BROKER = `mqtt://${leafAddr('hub')}:${BROKER_PORT}`;
// The machine's own /etc/outpost/*.yaml (an installed outpost) must not leak into the site.
const NO_CONFIG = ['--config', '/dev/null'];

export class DemoSite {
  private constructor(
    readonly lab: Lab,
    readonly work: string,
    readonly binary: string,
  ) {}

  /** `live` is filled in as things are made, so an interrupt at any point knows what to remove. */
  static async create(distBinary: string, live: LiveParts): Promise<DemoSite> {
    const work = await mkdtemp(join(tmpdir(), 'outpost-demo-'));
    live.work = work;
    // A private copy: a rebuild of dist/ while the demo runs would otherwise fail with
    // ETXTBSY (or swap the binary under the agents).
    const binary = join(work, 'outpost');
    await copyFile(distBinary, binary);
    await mkdir(join(work, 'policies'));
    await Promise.all(Object.entries(RESOURCES).map(([f, text]) => writeFile(join(work, 'policies', f), text)));
    const keygen = Bun.spawnSync([binary, 'keygen', '--out', join(work, 'relay')], { stderr: 'pipe' });
    if (keygen.exitCode !== 0) throw new Error(`outpost keygen failed: ${keygen.stderr.toString()}`);

    const lab = await Lab.create();
    live.lab = lab;
    const site = new DemoSite(lab, work, binary);
    try {
      await Promise.all(['gw', ...LEAVES].map((h) => lab.addHost(h)));
      await Promise.all([
        lab.forwarding('gw', true),
        ...LEAVES.map(async (h) => {
          await lab.link('gw', gwIf(h), [`${gwAddr(h)}/24`], h, 'eth0', [`${leafAddr(h)}/24`]);
          await lab.route(h, 'default', gwAddr(h));
        }),
      ]);
      await Promise.all(Object.entries(SERVICES).map(([h, tcp]) => lab.startResponder(h, { tcp })));
    } catch (e) {
      await site.destroy();
      throw e;
    }
    return site;
  }

  get policies(): string {
    return join(this.work, 'policies');
  }

  relay(): LabProcess {
    const argv = ['relay', '--resources', this.policies, '--listen', `${leafAddr('hub')}:${BROKER_PORT}`, '--insecure', '--signing-key', join(this.work, 'relay.key'), ...NO_CONFIG];
    return this.lab.spawn('hub', [this.binary, ...argv]);
  }

  agent(node: Node): LabProcess {
    const argv = ['agent', '--node', node, '--broker', BROKER, '--trust-key', join(this.work, 'relay.pub'), '--state', join(this.work, `state-${node}`), ...NO_CONFIG];
    return this.lab.spawn(node, [this.binary, ...argv]);
  }

  /** Replaces a file in the relay's folder in one rename: the relay polls the folder and must
   * never read a half-written file. */
  async edit(file: string, text: string): Promise<void> {
    const tmp = join(this.work, `${file}.new`);
    await writeFile(tmp, text);
    await rename(tmp, join(this.policies, file));
  }

  /** Simulates a host that lost its ruleset (a reboot): the kernel holds no outpost table. */
  async flushTable(node: Node): Promise<void> {
    await this.lab.exec(node, ['nft', 'delete', 'table', 'inet', 'outpost'], { reject: false });
    const left = await this.lab.exec(node, ['nft', 'list', 'tables']);
    if (left.stdout.includes('outpost')) throw new Error(`${node}: table inet outpost is still there`);
  }

  /** Tries every flow with real packets (one probe batch per source host); true = allowed. */
  async probe(flows: readonly Flow[]): Promise<boolean[]> {
    const out: boolean[] = new Array<boolean>(flows.length).fill(false);
    const sources = [...new Set(flows.map((f) => f.from))];
    await Promise.all(
      sources.map(async (from) => {
        const idx = flows.flatMap((f, i) => (f.from === from ? [i] : []));
        const results = await this.lab.probe(from, idx.map((i) => flows[i]!.probe));
        idx.forEach((i, k) => (out[i] = results[k]?.ok === true));
      }),
    );
    return out;
  }

  namespaces(): string[] {
    return this.lab.hosts.map((h) => this.lab.ns(h));
  }

  /** What `ip netns list` still shows of this site (nothing, once destroyed). */
  leftovers(): string[] {
    return listNamespaces().filter((ns) => ns.startsWith(`${this.lab.prefix}-`));
  }

  async destroy(): Promise<void> {
    await this.lab.destroy();
    await rm(this.work, { recursive: true, force: true });
  }

}

export interface LiveParts {
  work?: string;
  lab?: Lab;
}

/** For exit handlers (Ctrl-C), where nothing asynchronous runs any more. The processes go
 * first (with their namespaces): an agent still writing its cache would race the rm. */
export function destroySync(live: LiveParts): void {
  live.lab?.destroySync();
  if (live.work) rmSync(live.work, { recursive: true, force: true });
}
