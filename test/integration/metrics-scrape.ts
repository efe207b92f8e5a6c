/** Scraping the health and metrics endpoint from inside a lab namespace (curl over its loopback). */
import type { Lab } from '../lab/lab.ts';
import { parseExposition, type Family } from '../unit/observe/prom-text.ts';

export interface Scrape {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

/** GET `path` from `host`'s own `addr` (e.g. 127.0.0.1:9469); status 0 when nothing listens there. */
export async function get(lab: Lab, host: string, addr: string, path: string): Promise<Scrape> {
  const r = await lab.exec(host, ['curl', '-sS', '--max-time', '5', '-o', '-', '-w', '\n%{http_code} %{content_type}', `http://${addr}${path}`], { reject: false });
  if (r.exitCode !== 0) return { status: 0, contentType: '', body: r.stderr };
  const i = r.stdout.lastIndexOf('\n');
  const [status, ...ct] = r.stdout.slice(i + 1).split(' ');
  return { status: Number(status), contentType: ct.join(' '), body: r.stdout.slice(0, i) };
}

export async function metrics(lab: Lab, host: string, addr: string): Promise<Map<string, Family>> {
  const r = await get(lab, host, addr, '/metrics');
  if (r.status !== 200) throw new Error(`GET /metrics on ${host} ${addr}: ${r.status} ${r.body}`);
  return parseExposition(r.body);
}

/** Listening TCP sockets of process `pid` in `host`'s namespace, as local addresses ("127.0.0.1:9469"). */
export async function listeners(lab: Lab, host: string, pid: number | undefined): Promise<string[]> {
  if (pid === undefined) throw new Error('no pid');
  const r = await lab.exec(host, ['ss', '-Hltnp']);
  return r.stdout.split('\n').filter((l) => l.includes(`pid=${pid},`)).map((l) => l.trim().split(/\s+/)[3] ?? '');
}
