/**
 * What the resource-command suites against a real etcd share: one etcd and one temporary folder
 * per file, the datastore emptied before each test, the command run in-process with its output
 * captured, and manifest files written on demand.
 */
import { afterAll, beforeAll, beforeEach } from 'bun:test';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RESOURCE_COMMANDS } from '../../src/cli/resource-commands.ts';
import { startEtcd, type LabEtcd } from '../lab/etcd.ts';

export type ResourceCmd = keyof typeof RESOURCE_COMMANDS;

export interface EtcdCliLab {
  readonly etcd: LabEtcd;
  readonly dir: string;
  /** Runs `outpost CMD ARGS` against the lab's etcd (OUTPOST_ETCD_ENDPOINTS, unless `env` replaces the environment). */
  run(cmd: ResourceCmd, args: string[], opts?: { env?: Record<string, string>; stdin?: string }): Promise<{ code: number; out: string; err: string }>;
  /** Writes `text` to a new file in the lab's folder; its path. */
  file(text: string, ext?: string): Promise<string>;
}

/** Registers the suite's hooks; the lab's etcd and folder exist from beforeAll on. */
export function useEtcdCliLab(prefix: string): EtcdCliLab {
  let etcd: LabEtcd | undefined;
  let dir: string | undefined;
  let fileNo = 0;
  beforeAll(async () => {
    etcd = await startEtcd();
    dir = await mkdtemp(join(tmpdir(), prefix));
  });
  afterAll(async () => {
    await etcd?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    await etcd!.etcdctl(['del', '--prefix', '/calico/']);
  });
  return {
    get etcd() {
      return etcd!;
    },
    get dir() {
      return dir!;
    },
    async run(cmd, args, opts = {}) {
      const out: string[] = [];
      const err: string[] = [];
      const io = {
        out: (t: string) => void out.push(t),
        err: (t: string) => void err.push(t),
        env: opts.env ?? { OUTPOST_ETCD_ENDPOINTS: etcd!.url },
        ...(opts.stdin === undefined ? {} : { stdin: async () => opts.stdin! }),
      };
      const code = await RESOURCE_COMMANDS[cmd](args, io);
      return { code, out: out.join('\n'), err: err.join('\n') };
    },
    async file(text, ext = 'yaml') {
      const p = join(dir!, `r${++fileNo}.${ext}`);
      await writeFile(p, text);
      return p;
    },
  };
}
