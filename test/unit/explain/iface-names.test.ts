/**
 * Interface names no Linux interface can have (the kernel refuses empty names, more than 15 bytes,
 * "/", ":", whitespace, "." and ".."): a typo such as "eth0," or "eth0 " in --iface, --out-iface
 * or a tests.yaml iface is an error naming the field, not a confident "allow: no HostEndpoint
 * governs interface …". Odd names the kernel does allow (@x, eth*, UTF-8) stay accepted.
 */
import { describe, expect, test } from 'bun:test';
import { packetFromFlags } from '../../../src/cli/explain-command.ts';
import { UsageError } from '../../../src/cli/io.ts';
import { parsePolicyTests, PolicyTestsError } from '../../../src/explain/policy-tests.ts';

const flags = (iface: string, out?: string) =>
  packetFromFlags({ iface, ...(out === undefined ? { in: true } : { forward: true, 'out-iface': out }), from: '198.18.0.5', to: '198.18.1.1', 'to-port': '443/tcp' } as never);

const BAD = ['eth0 ', ' eth0', 'eth0,eth1'.replace(',', ' '), 'a/b', 'eth0:1', 'abcdefghijklmnop', '.', '..', 'é'.repeat(8)];
const ODD_BUT_REAL = ['@x', 'eth*', 'wg-ü', 'eth0,', 'br-0123456789ab'];

describe('interface names', () => {
  test('--iface and --out-iface refuse names no interface can have, naming the flag', () => {
    for (const name of BAD) {
      expect(() => flags(name), JSON.stringify(name)).toThrow(UsageError);
      expect(() => flags(name), JSON.stringify(name)).toThrow('--iface');
      expect(() => flags('eth0', name), JSON.stringify(name)).toThrow('--out-iface');
    }
  });

  test('odd names the kernel allows are accepted', () => {
    for (const name of ODD_BUT_REAL) expect(flags(name).iface).toBe(name);
  });

  test('tests.yaml iface: the same rule, naming the test and field', () => {
    for (const name of BAD.filter((n) => n.trim() === n && n !== '')) {
      const text = `tests:\n  - {name: t, iface: ${JSON.stringify(name)}, from: 198.18.0.5, to: 198.18.1.1, port: 22/tcp, expect: allow}\n`;
      expect(() => parsePolicyTests(text, 't.yaml'), JSON.stringify(name)).toThrow(PolicyTestsError);
      expect(() => parsePolicyTests(text, 't.yaml'), JSON.stringify(name)).toThrow('tests[0].iface ("t")');
    }
    for (const name of ODD_BUT_REAL) {
      const text = `tests:\n  - {name: t, iface: ${JSON.stringify(name)}, from: 198.18.0.5, to: 198.18.1.1, port: 22/tcp, expect: allow}\n`;
      expect(parsePolicyTests(text, 't.yaml')[0]!.iface).toBe(name);
    }
  });
});
