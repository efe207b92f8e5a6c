/** The CLI commands run in-process against files in a temp folder (no root, no kernel). */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './run-cli.ts';

let dir: string;

const run = (...argv: string[]) => runCli(argv);

const GOOD = `apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: gw-eth0, labels: {role: gw}}
spec: {node: gw, interfaceName: eth0, expectedIPs: [198.18.0.1]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkSet
metadata: {name: office, labels: {role: office}}
spec: {nets: [198.18.8.0/24]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: allow-office}
spec:
  selector: role == 'gw'
  ingress: [{action: Allow, protocol: TCP, source: {selector: role == 'office'}, destination: {ports: [443]}}]
`;
const BAD = `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: broken}
spec:
  ingress: [{action: Allow, protocol: TCP, destination: {ports: ['90:80']}}]
`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'outpost-cli-'));
  await mkdir(join(dir, 'good'));
  await mkdir(join(dir, 'mixed'));
  await writeFile(join(dir, 'good', 'all.yaml'), GOOD);
  await writeFile(join(dir, 'mixed', 'a.yaml'), GOOD);
  await writeFile(join(dir, 'mixed', 'b.yaml'), BAD);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('outpost validate', () => {
  test('valid resources exit 0', async () => {
    const r = await run('validate', '-f', join(dir, 'good'));
    expect(r.code).toBe(0);
    expect(r.out).toContain('3 valid resource(s), 0 problem(s)');
  });
  test('every problem names the file, the resource and the field; the exit code is 1', async () => {
    const r = await run('validate', '-f', join(dir, 'mixed'));
    expect(r.code).toBe(1);
    expect(r.err).toContain('b.yaml');
    expect(r.err).toContain("GlobalNetworkPolicy 'broken'");
    expect(r.err).toContain('spec.ingress[0].destination.ports[0]');
    expect(r.out).toContain('3 valid resource(s), 1 problem(s)');
  });
  test('a missing path is an error, not an empty success', async () => {
    const r = await run('validate', '-f', join(dir, 'nope'));
    expect(r.code).toBe(1);
    expect(r.err).toContain('cannot read');
  });
});

describe('outpost render', () => {
  test('prints the same nftables JSON on every run', async () => {
    const a = await run('render', '--node', 'gw', '--resources', join(dir, 'good'), '--no-interfaces');
    const b = await run('render', '--node', 'gw', '--resources', join(dir, 'good'), '--no-interfaces');
    expect(a.code).toBe(0);
    expect(a.out).toBe(b.out);
    const doc = JSON.parse(a.out) as { nftables: unknown[] };
    expect(JSON.stringify(doc.nftables[0])).toBe('{"add":{"table":{"family":"inet","name":"outpost"}}}');
    expect(a.out).toContain('"198.18.8.0"');
  });
  test('usage errors exit 2', async () => {
    expect((await run('render', '--node', 'gw')).code).toBe(2);
  });
  test('the manifest warnings (skipped kinds, unimplemented Felix fields) are printed as validate prints them', async () => {
    const extra = join(dir, 'render-warnings');
    await mkdir(extra, { recursive: true });
    await writeFile(join(extra, 'r.yaml'), `${GOOD}---\napiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {name: p1}\n---\napiVersion: projectcalico.org/v3\nkind: FelixConfiguration\nmetadata: {name: default}\nspec: {bpfEnabled: true}\n`);
    const r = await run('render', '--node', 'gw', '--resources', extra, '--no-interfaces');
    expect(r.code).toBe(0);
    expect(r.err).toContain("warning: " + join(extra, 'r.yaml') + ": skipped BGPPeer 'p1'");
    expect(r.err).toContain('spec.bpfEnabled');
  });
});

describe('outpost selector', () => {
  test('match, no match, and a parse error with its position', async () => {
    expect(await run('selector', "role == 'gw' && !has(x)", '--labels', '{"role":"gw"}')).toMatchObject({ code: 0, out: 'match\n' });
    expect(await run('selector', "role in {'a','b'}", '--labels', '{"role":"gw"}')).toMatchObject({ code: 1, out: 'no match\n' });
    const bad = await run('selector', "role == gw", '--labels', '{}');
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('offset 8');
    expect(bad.err).toContain('        ^');
  });
  test('with --resources, lists what it selects', async () => {
    const r = await run('selector', "has(role)", '--resources', join(dir, 'good'));
    expect(r.code).toBe(0);
    expect(r.out).toContain('HostEndpoint/gw-eth0\t198.18.0.1/32');
    expect(r.out).toContain('GlobalNetworkSet/office\t198.18.8.0/24');
    expect(r.out).toContain('2 selected');
  });
});

describe('outpost agent configuration', () => {
  test('a bad setting is refused before anything is applied, naming the setting', async () => {
    const r = await run('agent', '--node', 'GW_1', '--resources', join(dir, 'good'), '--state', join(dir, 'state'), '--once');
    expect(r.code).toBe(2);
    expect(r.err).toContain('node');
    const fs = await run('agent', '--node', 'gw', '--resources', join(dir, 'good'), '--failsafe-inbound', 'tcp:99999', '--once');
    expect(fs.code).toBe(2);
    expect(fs.err).toContain('failsafeInbound');
  });
});
