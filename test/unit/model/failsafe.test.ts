// Felix failsafe formats: defaults, the string form and the FelixConfiguration list.
import { describe, expect, test } from 'bun:test';
import {
  FELIX_DEFAULT_FAILSAFE_INBOUND,
  FELIX_DEFAULT_FAILSAFE_OUTBOUND,
  failsafeFromFelixConfig,
  parseFailsafeString,
  type FailsafeRule,
} from '../../../src/model/index.ts';

const asString = (rules: readonly FailsafeRule[]) => rules.map((r) => `${r.protocol}:${r.net ? `${r.net}:` : ''}${r.port}`).join(',');

describe('defaults', () => {
  test('match Felix (including Typha 5473)', () => {
    expect(asString(FELIX_DEFAULT_FAILSAFE_INBOUND)).toBe('tcp:22,udp:68,tcp:179,tcp:2379,tcp:2380,tcp:5473,tcp:6443,tcp:6666,tcp:6667');
    expect(asString(FELIX_DEFAULT_FAILSAFE_OUTBOUND)).toBe('udp:53,udp:67,tcp:179,tcp:2379,tcp:2380,tcp:5473,tcp:6443,tcp:6666,tcp:6667');
  });
  test('are frozen', () => {
    expect(Object.isFrozen(FELIX_DEFAULT_FAILSAFE_INBOUND)).toBe(true);
    expect(Object.isFrozen(FELIX_DEFAULT_FAILSAFE_INBOUND[0])).toBe(true);
  });
  test('round-trip through the string parser', () => {
    const r = parseFailsafeString(asString(FELIX_DEFAULT_FAILSAFE_INBOUND));
    expect(r).toEqual({ ok: true, rules: [...FELIX_DEFAULT_FAILSAFE_INBOUND] });
  });
});

describe('parseFailsafeString', () => {
  const ok: [string, FailsafeRule[]][] = [
    ['none', []],
    ['NONE', []],
    ['', []],
    ['22', [{ protocol: 'tcp', port: 22 }]],
    [
      'tcp:22,udp:68',
      [
        { protocol: 'tcp', port: 22 },
        { protocol: 'udp', port: 68 },
      ],
    ],
    ['UDP:53', [{ protocol: 'udp', port: 53 }]],
    [
      ' tcp:22 , 8080 ,',
      [
        { protocol: 'tcp', port: 22 },
        { protocol: 'tcp', port: 8080 },
      ],
    ],
    ['tcp:10.0.0.0/8:22', [{ protocol: 'tcp', port: 22, net: '10.0.0.0/8' }]],
    ['tcp:10.1.2.3/8:22', [{ protocol: 'tcp', port: 22, net: '10.0.0.0/8' }]],
    ['udp:192.168.1.1:53', [{ protocol: 'udp', port: 53, net: '192.168.1.1/32' }]],
    ['udp:[fd00::/8]:53', [{ protocol: 'udp', port: 53, net: 'fd00::/8' }]],
    ['tcp:[FD00:0:0::1]:22', [{ protocol: 'tcp', port: 22, net: 'fd00::1/128' }]],
    [
      'tcp:0,tcp:65535',
      [
        { protocol: 'tcp', port: 0 },
        { protocol: 'tcp', port: 65535 },
      ],
    ],
  ];
  for (const [input, rules] of ok) test(`parses ${JSON.stringify(input)}`, () => expect(parseFailsafeString(input)).toEqual({ ok: true, rules }));

  const bad: [string, string][] = [
    ['sctp:22', 'unknown protocol "sctp"'],
    ['icmp:1', 'unknown protocol'],
    ['tcp:65536', 'from 0 to 65535'],
    ['tcp:-1', 'from 0 to 65535'],
    ['tcp:ssh', 'port must be an integer'],
    ['tcp:1:2:3:4', 'use <protocol>:<net>:<port>'],
    ['tcp:10.0.0.0/33:22', 'invalid CIDR or IP "10.0.0.0/33"'],
    ['tcp:[fd00::/8]', 'must be written [net]:port'],
    ['tcp:fd00::1:22', 'use <protocol>:<net>:<port>'],
  ];
  for (const [input, text] of bad) {
    test(`rejects ${JSON.stringify(input)}`, () => {
      const r = parseFailsafeString(input);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error).toContain(text);
    });
  }
});

describe('failsafeFromFelixConfig', () => {
  test('lower-cases protocols and normalises nets like Felix', () => {
    expect(
      failsafeFromFelixConfig([
        { protocol: 'TCP', port: 22 },
        { protocol: 'UDP', port: 53, net: '10.1.2.3/8' },
        { protocol: 'TCP', port: 22, net: 'fd00::1' },
        { protocol: 'TCP', port: 80, net: '' },
      ]),
    ).toEqual({
      rules: [
        { protocol: 'tcp', port: 22 },
        { protocol: 'udp', port: 53, net: '10.0.0.0/8' },
        { protocol: 'tcp', port: 22, net: 'fd00::1/128' },
        { protocol: 'tcp', port: 80 },
      ],
      warnings: [],
    });
  });
  test('an empty list means no failsafes', () => expect(failsafeFromFelixConfig([])).toEqual({ rules: [], warnings: [] }));
  test('SCTP passes API validation but Felix rejects it: skipped with a warning', () => {
    const r = failsafeFromFelixConfig([
      { protocol: 'SCTP', port: 9 },
      { protocol: 'TCP', port: 22 },
    ]);
    expect(r.rules).toEqual([{ protocol: 'tcp', port: 22 }]);
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]).toContain('SCTP');
  });
  test('out-of-range ports and bad nets are skipped with warnings', () => {
    const r = failsafeFromFelixConfig([
      { protocol: 'TCP', port: 70000 },
      { protocol: 'UDP', port: 1, net: 'nope' },
    ]);
    expect(r.rules).toEqual([]);
    expect(r.warnings).toHaveLength(2);
  });
});
