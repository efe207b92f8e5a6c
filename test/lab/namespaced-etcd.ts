/**
 * A real etcd (Debian's etcd-server) inside a lab host (test/lab/etcd.ts is the one on the host's loopback), on that host's own loopback, with its
 * own data dir. Stopping and resuming keeps the data (an etcd restart, not a new cluster).
 */
import { join } from 'node:path';
import type { Lab, LabProcess } from './lab.ts';

export class NamespacedEtcd {
  private proc: LabProcess | undefined;
  readonly url = 'http://127.0.0.1:2379';

  private constructor(
    private readonly lab: Lab,
    readonly host: string,
    private readonly dataDir: string,
  ) {}

  static async start(lab: Lab, host: string, dir: string): Promise<NamespacedEtcd> {
    const e = new NamespacedEtcd(lab, host, join(dir, `etcd-${host}`));
    await e.resume();
    return e;
  }

  async resume(): Promise<void> {
    const p = this.lab.spawn(this.host, [
      'etcd', '--name', 'lab', '--data-dir', this.dataDir,
      '--listen-client-urls', this.url, '--advertise-client-urls', this.url,
      '--listen-peer-urls', 'http://127.0.0.1:2380', '--initial-advertise-peer-urls', 'http://127.0.0.1:2380',
      '--initial-cluster', 'lab=http://127.0.0.1:2380', '--log-level', 'warn',
    ]);
    this.proc = p;
    for (let i = 0; i < 100; i++) {
      const r = await this.etcdctl(['endpoint', 'health'], false);
      if (r.exitCode === 0) return;
      if (!p.running) throw new Error(`etcd exited:\n${p.stderr}`);
      await Bun.sleep(100);
    }
    throw new Error(`etcd did not become healthy:\n${p.stderr}`);
  }

  async etcdctl(args: readonly string[], reject = true, input?: string) {
    return this.lab.exec(this.host, ['etcdctl', '--endpoints', this.url, ...args], { reject, env: { ETCDCTL_API: '3', PATH: process.env.PATH ?? '/usr/bin:/bin' }, ...(input === undefined ? {} : { input }) });
  }

  async stop(): Promise<void> {
    await this.proc?.stop();
  }
}
