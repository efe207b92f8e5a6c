/** `outpost explain` flags: the packet as typed, every mistake a usage error naming the flag. */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { explainCommand } from '../../../src/cli/explain-command.ts';
import { UsageError } from '../../../src/cli/io.ts';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'explain-cli-'));
  writeFileSync(join(dir, 'r.yaml'), `
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: gw-web, labels: {host: gw}}
spec: {node: gw, expectedIPs: [198.18.1.1]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: web}
spec:
  selector: host == 'gw'
  ingress:
  - action: Allow
    protocol: TCP
    destination: {ports: [443]}
`);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await explainCommand(['--node', 'gw', '--resources', dir, ...args], { out: (t) => void out.push(t), err: (t) => void err.push(t), env: {} });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const IN = ['--iface', 'eth0', '--in', '--from', '198.18.0.5', '--to', '198.18.1.1'];

describe('outpost explain (flags, datastore mode)', () => {
  test('verdict first, then the steps, then where the plan came from', async () => {
    const ok = await run([...IN, '--to-port', '443/tcp']);
    expect(ok.code).toBe(0);
    const lines = ok.out.split('\n');
    expect(lines[0]).toBe('allow');
    expect(lines[1]).toBe('  normal ingress: interface eth0 is governed by HostEndpoint gw-web');
    expect(lines.at(-1)).toBe(`plan: resources ${dir}, node gw; eth0 assumed to hold HostEndpoint gw-web's expectedIPs (198.18.1.1); --iface-ip says otherwise`);
    expect((await run([...IN, '--to-port', '80/tcp'])).out.split('\n')[0]).toBe('deny');
    // The HEP's address is elsewhere: eth0 is not governed.
    expect((await run([...IN, '--to-port', '80/tcp', '--iface-ip', 'eth1=198.18.1.1'])).out.split('\n')[0]).toBe('allow');
    const json = JSON.parse((await run([...IN, '--to-port', '80', '--proto', 'tcp', '-o', 'json'])).out);
    expect(json).toMatchObject({ verdict: 'deny', packet: { protocol: 6, dstPort: 80, srcPort: 40000, ct: 'new' } });
    expect((await run([...IN, '--to-port', '80/tcp', '--established'])).out.split('\n')[0]).toBe('allow');
  });

  const bad: [string[], string][] = [
    [['--iface', 'eth0', '--from', '198.18.0.5', '--to', '198.18.1.1', '--to-port', '443/tcp'], 'give exactly one of --in, --out and --forward'],
    [['--iface', 'eth0', '--in', '--out', '--from', '198.18.0.5', '--to', '198.18.1.1', '--to-port', '443/tcp'], 'give exactly one of --in, --out and --forward'],
    [['--iface', 'eth0', '--forward', '--from', '198.18.0.5', '--to', '198.18.1.1', '--to-port', '443/tcp'], '--forward needs --out-iface IF'],
    [[...IN], '--to-port N/PROTO is required'],
    [[...IN, '--to-port', '443/tcpp'], '--to-port: "tcpp" is not a protocol'],
    [[...IN, '--to-port', '99999/tcp'], '--to-port: "99999" is not a port'],
    [[...IN, '--proto', 'icmp', '--to-port', '80/tcp'], '--proto icmp contradicts --to-port 80/tcp'],
    [[...IN, '--proto', 'icmp', '--from-port', '5'], 'has no ports'],
    [[...IN, '--to-port', '80/tcp', '--icmp-type', '8'], '--icmp-type and --icmp-code need --proto icmp or icmpv6'],
    [[...IN, '--proto', 'icmp', '--icmp-type', 'echo'], '--icmp-type: "echo" is not a number 0-255'],
    [[...IN, '--to-port', '80/tcp', '--ct-state', 'related'], '--ct-state: "related" is not new, established or invalid'],
    [['--iface', 'eth0', '--in', '--from', 'fd00::5', '--to', '198.18.1.1', '--to-port', '80/tcp'], 'not the same IP version'],
    [['--iface', 'eth0', '--in', '--from', '198.18.0.5', '--to', 'web', '--to-port', '80/tcp'], '--to: "web" is not an IP address'],
    [[...IN, '--to-port', '80/tcp', '--iface-ip', 'eth1'], '--iface-ip "eth1": use IF=IP'],
    [[...IN, '--to-port', '80/tcp', '--state', '/tmp'], '--state and --config read an agent on this host'],
    [[...IN, '--to-port', '80/tcp', '-o', 'yaml'], '-o yaml: use text or json'],
    [[...IN, '--to-port', '80/tcp', 'extra'], 'explain takes no arguments'],
  ];
  for (const [args, message] of bad) {
    test(`usage error: ${message}`, async () => {
      const p = run(args);
      await expect(p).rejects.toThrow(UsageError);
      await expect(run(args)).rejects.toThrow(message);
    });
  }
});
