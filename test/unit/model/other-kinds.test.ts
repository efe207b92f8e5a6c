// GlobalNetworkSet, Tier, Profile and FelixConfiguration validation.
import { describe, expect, test } from 'bun:test';
import { expectError, isValid, resource, valid, type Obj } from './helpers.ts';
import type { FelixConfiguration, Tier } from '../../../src/model/index.ts';

describe('GlobalNetworkSet', () => {
  const gns = (spec: Obj, metadata: Obj = {}) => resource('GlobalNetworkSet', 'testset', spec, metadata);
  test('accepts CIDRs and IPs, masked or not', () => {
    expect(isValid(gns({ nets: ['10.0.0.1', '11.0.0.0/8', 'dead:beef::', 'dead:beef::/96', '10.1.2.3/8', '0.0.0.0/0'] }))).toBe(true);
    expect(isValid(gns({}))).toBe(true);
  });
  test('rejects a bad CIDR', () => expectError(gns({ nets: ['10.0.0.0/8', 'garbage'] }), 'spec.nets[1]', 'CIDR or IP address (got "garbage")'));
  test('rejects /33', () => expectError(gns({ nets: ['1.2.3.4/33'] }), 'spec.nets[0]', 'CIDR or IP'));
  test('accepts ordinary labels', () => expect(isValid(gns({ nets: ['10.0.0.1'] }, { labels: { a: 'b' } }))).toBe(true));
  test('rejects the reserved namespace label', () => {
    expectError(
      gns({ nets: ['10.0.0.1'] }, { labels: { 'projectcalico.org/namespace': 'foo' } }),
      'metadata.labels["projectcalico.org/namespace"]',
      'reserved',
    );
  });
});

describe('Tier', () => {
  const tier = (name: string, spec?: Obj) => resource('Tier', name, spec);
  test('defaultAction defaults to Deny', () => {
    expect((valid(tier('security')) as Tier).spec).toEqual({ defaultAction: 'Deny' });
    expect((valid(tier('security', { order: 100, defaultAction: 'Pass' })) as Tier).spec).toEqual({
      order: 100,
      defaultAction: 'Pass',
    });
  });
  test('defaultAction must be Deny or Pass', () => {
    expectError(tier('security', { defaultAction: 'Allow' }), 'spec.defaultAction', 'defaultAction must be one of Deny, Pass (got "Allow")');
    expectError(tier('security', { defaultAction: 'Log' }), 'spec.defaultAction', '"Log"');
  });
  test('order must be a number', () => expectError(tier('security', { order: 'first' }), 'spec.order', 'must be a number'));

  // Calico pins the built-in tiers' order and default action (CEL on the Tier CRD).
  const pins: [string, Obj, boolean][] = [
    ['default', { order: 1_000_000, defaultAction: 'Deny' }, true],
    ['default', { order: 1_000_000 }, true],
    ['default', { order: 10 }, false],
    ['default', { order: 1_000_000, defaultAction: 'Pass' }, false],
    ['kube-admin', { order: 1_000, defaultAction: 'Pass' }, true],
    ['kube-admin', { order: 1_000 }, false],
    ['kube-admin', { order: 2_000, defaultAction: 'Pass' }, false],
    ['kube-baseline', { order: 10_000_000, defaultAction: 'Pass' }, true],
    ['kube-baseline', { order: 10_000_000, defaultAction: 'Deny' }, false],
    ['kube-baseline', { defaultAction: 'Pass' }, false],
  ];
  for (const [name, spec, ok] of pins) {
    test(`built-in tier ${name} with ${JSON.stringify(spec)} ${ok ? 'accepted' : 'rejected'}`, () => {
      expect(isValid(tier(name, spec))).toBe(ok);
    });
  }
  test('pin errors name the field', () => {
    expectError(tier('default', { order: 10 }), 'spec.order', "the 'default' tier must have order 1000000 (got 10)");
    expectError(tier('kube-admin', { order: 1000 }), 'spec.defaultAction', 'must have defaultAction Pass');
  });
});

describe('Profile', () => {
  test('rules and labelsToApply', () => {
    expect(
      isValid(
        resource('Profile', 'p', {
          ingress: [{ action: 'Allow' }],
          egress: [{ action: 'Allow' }],
          labelsToApply: { a: 'b' },
        }),
      ),
    ).toBe(true);
    expectError(
      resource('Profile', 'p', { egress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: ['1:0'] } }] }),
      'spec.egress[0].destination.ports[0]',
      'port range 1:0',
    );
  });
});

describe('FelixConfiguration', () => {
  const fc = (spec: Obj, name = 'default') => resource('FelixConfiguration', name, spec);
  test('failsafe lists are validated, other fields kept as given', () => {
    const c = valid(
      fc({
        logSeverityScreen: 'Info',
        bpfEnabled: false,
        failsafeInboundHostPorts: [
          { protocol: 'TCP', port: 22 },
          { protocol: 'UDP', port: 68, net: '10.0.0.0/8' },
        ],
        failsafeOutboundHostPorts: [
          { protocol: 'SCTP', port: 0, net: 'fd00::1' },
          { protocol: 'TCP', port: 65535, net: '' },
        ],
      }),
    ) as FelixConfiguration;
    expect(c.spec['logSeverityScreen']).toBe('Info');
    expect(c.spec['bpfEnabled']).toBe(false);
    expect(c.spec.failsafeInboundHostPorts).toEqual([
      { protocol: 'TCP', port: 22 },
      { protocol: 'UDP', port: 68, net: '10.0.0.0/8' },
    ]);
  });
  test('an empty failsafe list is allowed (it disables failsafes)', () => expect(isValid(fc({ failsafeInboundHostPorts: [] }))).toBe(true));
  const rejected: [string, Obj, string, string][] = [
    [
      'lower-case protocol',
      { failsafeInboundHostPorts: [{ protocol: 'tcp', port: 22 }] },
      'spec.failsafeInboundHostPorts[0].protocol',
      'TCP, UDP, SCTP (got "tcp")',
    ],
    ['ICMP', { failsafeOutboundHostPorts: [{ protocol: 'ICMP', port: 1 }] }, 'spec.failsafeOutboundHostPorts[0].protocol', 'TCP, UDP, SCTP'],
    ['no protocol', { failsafeInboundHostPorts: [{ port: 22 }] }, 'spec.failsafeInboundHostPorts[0].protocol', 'protocol is required'],
    ['port 65536', { failsafeInboundHostPorts: [{ protocol: 'TCP', port: 65536 }] }, 'spec.failsafeInboundHostPorts[0].port', 'from 0 to 65535'],
    ['port as string', { failsafeInboundHostPorts: [{ protocol: 'TCP', port: '22' }] }, 'spec.failsafeInboundHostPorts[0].port', 'integer'],
    ['fractional port', { failsafeInboundHostPorts: [{ protocol: 'TCP', port: 22.5 }] }, 'spec.failsafeInboundHostPorts[0].port', 'integer'],
    ['bad net', { failsafeInboundHostPorts: [{ protocol: 'TCP', port: 22, net: '10.0.0/8' }] }, 'spec.failsafeInboundHostPorts[0].net', 'CIDR or IP'],
    ['not a list', { failsafeInboundHostPorts: 'tcp:22' }, 'spec.failsafeInboundHostPorts', 'must be a list'],
  ];
  for (const [name, spec, path, text] of rejected) test(`rejects failsafe ${name}`, () => expectError(fc(spec), path, text));

  test('nodeSelector only on names other than default and node.*', () => {
    expect(isValid(fc({ nodeSelector: "rack == 'a'" }, 'rack-a'))).toBe(true);
    expectError(fc({ nodeSelector: 'all()' }, 'default'), 'spec.nodeSelector', "must not be set on FelixConfiguration 'default'");
    expectError(fc({ nodeSelector: 'all()' }, 'node.web1'), 'spec.nodeSelector', 'node.web1');
    expectError(fc({ nodeSelector: 'rack ==' }, 'rack-a'), 'spec.nodeSelector', 'invalid selector');
  });
});
