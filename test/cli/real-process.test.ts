/**
 * The CLI as a shell runs it, in a real process: output closed early by `| head`, input from a
 * pipe with `-`, an etcd URL that is not etcd, and render's exit status on invalid input. The
 * compiled binary (dist/outpost, when built) is checked for the broken pipe too.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DIST } from '../build/artifacts.ts';
import { startEtcd, type LabEtcd } from '../lab/etcd.ts';

// Each case starts a few processes; a loaded machine makes that seconds, not milliseconds.
setDefaultTimeout(60_000);

const MAIN = join(import.meta.dir, '../../src/main.ts');
const FROM_SOURCE = ['bun', MAIN];
const COMPILED = join(DIST, 'outpost');

let dir: string;
let etcd: LabEtcd;

const HEP = `apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: gw-eth0, labels: {role: gw}}
spec: {node: gw, interfaceName: eth0, expectedIPs: [198.18.0.1]}
`;
const policy = (i: number) => `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: p${i}}
spec:
  selector: role == 'gw'
  order: ${i}
  ingress: [{action: Allow, protocol: TCP, source: {nets: [198.18.${i % 250}.0/24]}, destination: {ports: [${1000 + i}]}}]
`;
const BAD = `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: broken}
spec:
  ingress: [{action: Allow, protocol: TCP, destination: {ports: ['90:80']}}]
`;

/** Runs the CLI with `stdin` piped in; its exit status and both outputs. */
async function cli(args: string[], opts: { stdin?: string; bin?: string[] } = {}): Promise<{ code: number; out: string; err: string }> {
  const p = Bun.spawn([...(opts.bin ?? FROM_SOURCE), ...args], {
    cwd: dir,
    stdin: opts.stdin === undefined ? 'ignore' : new TextEncoder().encode(opts.stdin),
    stdout: 'pipe',
    stderr: 'pipe',
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
  });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, out, err };
}

/**
 * `CMD | head -c 1` in a real shell pipeline: head exits after one byte, closing the pipe while
 * the command is still writing. The command's own exit status and its stderr.
 */
async function intoHead(argv: string[]): Promise<{ code: number; err: string }> {
  const errFile = join(dir, `err-${Math.random().toString(36).slice(2)}`);
  const script = '"$@" 2>"$ERRFILE" | head -c 1 >/dev/null; echo "${PIPESTATUS[0]}"';
  const p = Bun.spawn(['bash', '-c', script, 'pipe', ...argv], { cwd: dir, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ERRFILE: errFile }, stdout: 'pipe', stderr: 'inherit' });
  const status = (await new Response(p.stdout).text()).trim();
  await p.exited;
  return { code: Number(status), err: await Bun.file(errFile).text() };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'outpost-proc-'));
  // Output well beyond a pipe's 64 KiB buffer, so the writer is still writing when head exits.
  await mkdir(join(dir, 'big'));
  await writeFile(join(dir, 'big', 'all.yaml'), [HEP, ...Array.from({ length: 300 }, (_, i) => policy(i))].join('---\n'));
  await mkdir(join(dir, 'mixed'));
  await writeFile(join(dir, 'mixed', 'a.yaml'), [HEP, policy(1)].join('---\n'));
  await writeFile(join(dir, 'mixed', 'b.yaml'), BAD);
  etcd = await startEtcd();
});
afterAll(async () => {
  await etcd?.destroy();
  await rm(dir, { recursive: true, force: true });
});

describe('a reader that goes away ends the command quietly with status 0', () => {
  test('render | head', async () => {
    const whole = await cli(['render', '--node', 'gw', '--resources', 'big', '--no-interfaces']);
    expect(whole.code).toBe(0);
    expect(whole.out.length).toBeGreaterThan(1_000_000);
    expect(await intoHead([...FROM_SOURCE, 'render', '--node', 'gw', '--resources', 'big', '--no-interfaces'])).toEqual({ code: 0, err: '' });
  });

  test('--help | head', async () => {
    expect(await intoHead([...FROM_SOURCE, '--help'])).toEqual({ code: 0, err: '' });
    expect(await intoHead([...FROM_SOURCE, 'agent', '--help'])).toEqual({ code: 0, err: '' });
  });

  test('get | head, against a real etcd', async () => {
    const applied = await cli(['apply', '-f', 'big', '--etcd', etcd.url]);
    expect(applied.code).toBe(0);
    expect(applied.out).toContain('Successfully applied 301 resource(s)');
    const all = await cli(['get', 'gnp', '-o', 'yaml', '--etcd', etcd.url]);
    expect(all.out.length).toBeGreaterThan(100_000);
    expect(await intoHead([...FROM_SOURCE, 'get', 'gnp', '-o', 'yaml', '--etcd', etcd.url])).toEqual({ code: 0, err: '' });
  });

  test.skipIf(!existsSync(COMPILED))('the compiled binary too', async () => {
    expect(await intoHead([COMPILED, 'render', '--node', 'gw', '--resources', 'big', '--no-interfaces'])).toEqual({ code: 0, err: '' });
    expect(await intoHead([COMPILED, '--help'])).toEqual({ code: 0, err: '' });
  });
});

describe('"-" is standard input', () => {
  test('validate -f -', async () => {
    const ok = await cli(['validate', '-f', '-'], { stdin: [HEP, policy(1)].join('---\n') });
    expect(ok).toMatchObject({ code: 0, out: '2 valid resource(s), 0 problem(s)\n' });
    const bad = await cli(['validate', '-f', '-', '-f', 'mixed/a.yaml'], { stdin: BAD });
    expect(bad.code).toBe(1);
    expect(bad.err).toContain("<stdin>: GlobalNetworkPolicy 'broken': spec.ingress[0].destination.ports[0]");
    expect(bad.out).toContain('2 valid resource(s), 1 problem(s)');
  });

  test('render --resources - prints what the same file would', async () => {
    const text = [HEP, policy(7)].join('---\n');
    await writeFile(join(dir, 'seven.yaml'), text);
    const fromFile = await cli(['render', '--node', 'gw', '--resources', 'seven.yaml', '--no-interfaces']);
    const fromStdin = await cli(['render', '--node', 'gw', '--resources', '-', '--no-interfaces'], { stdin: text });
    expect(fromStdin.code).toBe(0);
    expect(fromStdin.out).toBe(fromFile.out);
    expect(fromStdin.out).toContain('198.18.7.0');
  });

  test('apply -f - writes to etcd', async () => {
    const r = await cli(['apply', '-f', '-', '--etcd', etcd.url], { stdin: policy(999).replace('name: p999', 'name: from-stdin') });
    expect(r).toMatchObject({ code: 0, out: "Successfully applied 1 'GlobalNetworkPolicy' resource(s)\n" });
    expect((await cli(['get', 'gnp', 'from-stdin', '--etcd', etcd.url])).code).toBe(0);
  });
});

describe('nothing prints success when it failed', () => {
  test('apply/create/replace/delete against an HTTP server that is not etcd', async () => {
    // Answers every request with a web page, as a wrong port often does.
    const server = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => new Response('<html>not etcd</html>', { headers: { 'content-type': 'text/html' } }) });
    try {
      const url = `http://127.0.0.1:${server.port}`;
      await writeFile(join(dir, 'one.yaml'), policy(3));
      for (const [argv, verb] of [[['apply', '-f', 'one.yaml'], 'applied'], [['create', '-f', 'one.yaml'], 'created'], [['replace', '-f', 'one.yaml'], 'replaced'], [['delete', 'gnp', 'p3'], 'deleted']] as const) {
        const r = await cli([...argv, '--etcd', url]);
        expect({ argv, code: r.code }).toEqual({ argv, code: 1 });
        expect(r.out).not.toMatch(/Success/i);
        expect(r.err).toContain(`nothing was ${verb}`);
        expect(r.err).toContain('is this the client URL of an etcd server?');
      }
      const get = await cli(['get', 'gnp', '--etcd', url]);
      expect(get.code).toBe(1);
      expect(get.out).toBe('');
      // bundle export gives up after its start timeout: a sentence, no stack trace, no file.
      await cli(['keygen', '--out', 'relay']);
      const exported = await cli(['bundle', 'export', '--node', 'gw', '--etcd', url, '--signing-key', 'relay.key', '--out', 'gw.bundle']);
      expect(exported.code).toBe(1);
      expect(exported.err).toContain('cannot read the datastore: etcd never readable');
      expect(exported.err).toContain('nothing was exported');
      expect(exported.err).not.toMatch(/\n\s+at |Bun v/);
      expect(existsSync(join(dir, 'gw.bundle'))).toBe(false);
    } finally {
      server.stop(true);
    }
  });
});

describe('render', () => {
  test('an invalid resource: reported, left out, the rest printed, exit 1', async () => {
    const r = await cli(['render', '--node', 'gw', '--resources', 'mixed', '--no-interfaces']);
    expect(r.code).toBe(1);
    expect(r.err).toContain("GlobalNetworkPolicy 'broken'");
    expect(r.err).toContain('the invalid resources are left out of this ruleset');
    const doc = JSON.parse(r.out) as { nftables: unknown[] };
    expect(JSON.stringify(doc)).toContain('198.18.1.0');
  });

  test('a node that matches no HostEndpoint: a warning, exit 0', async () => {
    const r = await cli(['render', '--node', 'gw-typo', '--resources', 'mixed/a.yaml', '--no-interfaces']);
    expect(r.code).toBe(0);
    expect(r.err).toContain('warning: node gw-typo matches no HostEndpoint: outpost would govern no interface');
    const matched = await cli(['render', '--node', 'gw', '--resources', 'mixed/a.yaml', '--no-interfaces']);
    expect(matched.err).not.toContain('matches no HostEndpoint');
  });
});
