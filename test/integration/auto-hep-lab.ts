/** What the auto host endpoint lab tests share: reading a HostEndpoint back, polling with the logs. */
import type { Lab, LabProcess } from '../lab/lab.ts';
import { pollUntil } from '../lab/poll.ts';
import { MAIN } from './harness.ts';

/** `outpost get hostendpoint NAME -o json` in the hub; undefined when it does not exist. */
export async function hepInEtcd(lab: Lab, etcdUrl: string, name: string): Promise<Record<string, any> | undefined> {
  const r = await lab.exec('hub', [process.execPath, MAIN, 'get', 'hostendpoint', name, '-o', 'json', '--etcd', etcdUrl], { reject: false });
  if (r.exitCode !== 0) {
    if (/not found|does not exist/i.test(r.stderr)) return undefined;
    throw new Error(`outpost get failed: ${r.stderr}`);
  }
  return JSON.parse(r.stdout);
}

/** pollUntil whose time-out names the relay's and the agent's last words (read when it times out). */
export function pollerWithLogs(procs: () => { relay: LabProcess; agent: LabProcess | undefined }) {
  return <T, U extends T = T>(what: string, probe: () => Promise<T>, ok: ((v: T) => v is U) | ((v: T) => boolean), timeoutMs = 30_000): Promise<U> =>
    pollUntil(what, probe, ok, {
      timeoutMs,
      context: () => {
        const { relay, agent } = procs();
        return `relay:\n${relay.stderr.slice(-3000)}\nagent:\n${agent?.stderr.slice(-2000)}`;
      },
    });
}
