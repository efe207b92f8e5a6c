// Rule / EntityRule validation, table-driven: every rule has a passing and a
// failing case. Each rule is wrapped in a GlobalNetworkPolicy as ingress[0].
import { describe, expect, test } from 'bun:test';
import { egressRule, expectError, ingressRule, isValid, valid, type Obj } from './helpers.ts';
import type { GlobalNetworkPolicy } from '../../../src/model/index.ts';

const range = (n: number, f: (i: number) => unknown) => Array.from({ length: n }, (_, i) => f(i));
const R = 'spec.ingress[0]';

const validRules: [string, Obj][] = [
  ['action Allow', { action: 'Allow' }],
  ['action Deny', { action: 'Deny' }],
  ['action Log', { action: 'Log' }],
  ['action Pass', { action: 'Pass' }],
  ['ipVersion 4', { action: 'Allow', ipVersion: 4 }],
  ['ipVersion 6', { action: 'Allow', ipVersion: 6 }],
  ...(['TCP', 'UDP', 'ICMP', 'ICMPv6', 'SCTP', 'UDPLite', 1, 255, '255', '1'] as const).map((p): [string, Obj] => [
    `protocol ${JSON.stringify(p)}`,
    { action: 'Allow', protocol: p },
  ]),
  ['notProtocol UDP', { action: 'Allow', notProtocol: 'UDP' }],
  ['icmp type 0', { action: 'Allow', protocol: 'ICMP', icmp: { type: 0 } }],
  ['icmp type 254', { action: 'Allow', protocol: 'ICMP', icmp: { type: 254 } }],
  ['icmp type and code 0', { action: 'Allow', protocol: 'ICMP', icmp: { type: 128, code: 0 } }],
  ['icmp type and code 255', { action: 'Allow', protocol: 'ICMPv6', icmp: { type: 128, code: 255 } }],
  ['icmp with protocol 1', { action: 'Allow', protocol: 1, icmp: { type: 8 } }],
  ['icmp with protocol 58', { action: 'Allow', protocol: 58, icmp: { type: 8 } }],
  ['ICMP with ipVersion 4', { action: 'Allow', ipVersion: 4, protocol: 'ICMP', icmp: { type: 0 } }],
  ['ICMPv6 with ipVersion 6', { action: 'Allow', ipVersion: 6, protocol: 'ICMPv6', icmp: { type: 0 } }],
  ['notICMP without protocol (only icmp needs one)', { action: 'Allow', notICMP: { type: 8 } }],
  ['masked IPv4 nets', { action: 'Allow', source: { nets: ['10.0.0.0/8', '1.2.3.4/32'] } }],
  ['masked IPv6 nets', { action: 'Allow', source: { nets: ['aabb:aabb::/122', 'fd00::/8'] } }],
  ['notNets', { action: 'Allow', source: { notNets: ['10.0.0.0/8'] } }],
  ['same family across fields', { action: 'Allow', source: { nets: ['10.0.0.0/8'] }, destination: { notNets: ['10.1.0.0/16'] } }],
  ['v6 nets with ipVersion 6', { action: 'Allow', ipVersion: 6, source: { nets: ['fd00::/8'] } }],
  ['256 nets', { action: 'Allow', source: { nets: range(256, (i) => `10.0.${i}.0/24`) } }],
  ['selector', { action: 'Allow', source: { selector: "role == 'web'" } }],
  ['selector with / and -.', { action: 'Allow', source: { selector: 'has(calico/k8s_NS-.1/role)' } }],
  ['notSelector', { action: 'Allow', source: { notSelector: 'has(x)' } }],
  ['namespaceSelector global()', { action: 'Allow', source: { namespaceSelector: '  global()  ' } }],
  ['namespaceSelector', { action: 'Allow', destination: { namespaceSelector: "projectcalico.org/name == 'test'" } }],
  ['ports of all forms with TCP', { action: 'Allow', protocol: 'TCP', destination: { ports: [80, '1000:2000', 'http', '443'] } }],
  ['named ports without protocol', { action: 'Allow', destination: { ports: ['http'] } }],
  ['named notPorts without protocol', { action: 'Allow', source: { notPorts: ['foo'] } }],
  ['ports with protocol 6', { action: 'Allow', protocol: 6, source: { ports: [1] } }],
  ['ports with protocol 17', { action: 'Allow', protocol: 17, source: { notPorts: [1] } }],
  ['ports with SCTP', { action: 'Allow', protocol: 'SCTP', destination: { ports: [1] } }],
  ['empty ports with protocol 7', { action: 'Allow', protocol: 7, source: { ports: [] } }],
  ['port range 1:65535', { action: 'Allow', protocol: 'UDP', destination: { ports: ['1:65535'] } }],
  ['50 ports', { action: 'Allow', protocol: 'TCP', destination: { ports: range(50, (i) => i + 1) } }],
  ['serviceAccounts', { action: 'Allow', source: { serviceAccounts: { names: ['a', 'b'], selector: "app == 'x'" } } }],
  ['http on Allow without protocol', { action: 'Allow', http: { methods: ['GET'] } }],
  ['http on Allow with TCP', { action: 'Allow', protocol: 'TCP', http: { paths: [{ exact: '/foo' }, { prefix: '/bar' }] } }],
  ['http with protocol 6', { action: 'Allow', protocol: 6, http: { methods: ['GET', 'PUT'] } }],
  ['services in ingress source', { action: 'Allow', protocol: 'TCP', source: { services: { name: 'svc', namespace: 'default' }, ports: [80] } }],
  ['rule metadata annotations', { action: 'Allow', metadata: { annotations: { foo: 'bar', 'Example.com/Key': 'x' } } }],
];

// [name, rule, error path (relative to the rule), message fragment]
const invalidRules: [string, Obj, string, string][] = [
  ['no action', {}, 'action', 'action is required'],
  ['unknown action', { action: 'unknown' }, 'action', 'action must be one of Allow, Deny, Log, Pass'],
  ['lower-case action', { action: 'allow' }, 'action', '"allow"'],
  ['ipVersion 0', { action: 'Allow', ipVersion: 0 }, 'ipVersion', 'ipVersion must be one of 4, 6'],
  ['ipVersion 5', { action: 'Allow', ipVersion: 5 }, 'ipVersion', '(got 5)'],
  ['protocol 0', { action: 'Allow', protocol: 0 }, 'protocol', 'invalid protocol 0'],
  ['protocol "0"', { action: 'Allow', protocol: '0' }, 'protocol', 'invalid protocol 0'],
  ['protocol 256', { action: 'Allow', protocol: 256 }, 'protocol', 'invalid protocol 256'],
  ['protocol "256"', { action: 'Allow', protocol: '256' }, 'protocol', 'invalid protocol "256"'],
  ['protocol tcp (case)', { action: 'Allow', protocol: 'tcp' }, 'protocol', 'exact case'],
  ['protocol tcpfoo', { action: 'Allow', protocol: 'tcpfoo' }, 'protocol', '"tcpfoo"'],
  ['notProtocol footcp', { action: 'Allow', notProtocol: 'footcp' }, 'notProtocol', '"footcp"'],
  ['icmp type 255', { action: 'Allow', protocol: 'ICMP', icmp: { type: 255 } }, 'icmp.type', 'from 0 to 254'],
  ['icmp code 256', { action: 'Allow', protocol: 'ICMP', icmp: { type: 1, code: 256 } }, 'icmp.code', 'from 0 to 255'],
  ['icmp code without type', { action: 'Allow', protocol: 'ICMP', icmp: { code: 0 } }, 'icmp.code', 'requires an ICMP type'],
  ['notICMP code without type', { action: 'Allow', notICMP: { code: 0 } }, 'notICMP.code', 'requires an ICMP type'],
  ['icmp without protocol', { action: 'Allow', ipVersion: 4, icmp: { type: 0 } }, 'icmp', 'requires protocol ICMP'],
  ['icmp with TCP', { action: 'Allow', protocol: 'TCP', icmp: { type: 0 } }, 'icmp', 'requires protocol ICMP'],
  ['ICMP with ipVersion 6', { action: 'Allow', ipVersion: 6, protocol: 'ICMP' }, 'protocol', 'requires ipVersion 4'],
  ['protocol 1 with ipVersion 6', { action: 'Allow', ipVersion: 6, protocol: 1 }, 'protocol', 'requires ipVersion 4'],
  ['ICMPv6 with ipVersion 4', { action: 'Allow', ipVersion: 4, protocol: 'ICMPv6' }, 'protocol', 'requires ipVersion 6'],
  ['notProtocol ICMP with ipVersion 6', { action: 'Allow', ipVersion: 6, notProtocol: 'ICMP' }, 'notProtocol', 'requires ipVersion 4'],
  ['unmasked net', { action: 'Allow', source: { nets: ['10.0.0.1/24'] } }, 'source.nets[0]', 'did you mean 10.0.0.0/24'],
  ['garbage net', { action: 'Allow', source: { nets: ['garbage'] } }, 'source.nets[0]', 'invalid CIDR or IP address "garbage"'],
  // The v3 validator parses rule nets as CIDRs; a bare address is refused.
  ['bare IPv4 in nets', { action: 'Allow', destination: { nets: ['10.0.0.5'] } }, 'destination.nets[0]', '10.0.0.5 must be a CIDR with a prefix length, e.g. 10.0.0.5/32'],
  ['bare IPv6 in notNets', { action: 'Allow', source: { notNets: ['fd00::5'] } }, 'source.notNets[0]', 'fd00::5 must be a CIDR with a prefix length, e.g. fd00::5/128'],
  ['prefix too long', { action: 'Allow', destination: { notNets: ['1.2.3.4/33'] } }, 'destination.notNets[0]', 'invalid CIDR'],
  ['257 nets', { action: 'Allow', source: { nets: range(257, (i) => `10.${i >> 8}.${i & 255}.0/24`) } }, 'source.nets', 'at most 256'],
  ['notNets 0.0.0.0/0', { action: 'Allow', source: { notNets: ['0.0.0.0/0'] } }, 'source.notNets[0]', 'catch-all'],
  ['notNets ::/0', { action: 'Allow', destination: { notNets: ['::/0'] } }, 'destination.notNets[0]', 'catch-all'],
  ['notNets ::0/0', { action: 'Allow', destination: { notNets: ['::0/0'] } }, 'destination.notNets[0]', 'catch-all'],
  ['notNets 0:0:0::/0', { action: 'Allow', destination: { notNets: ['0:0:0::/0'] } }, 'destination.notNets[0]', 'catch-all'],
  ['v4 source and v6 destination', { action: 'Allow', source: { nets: ['1.2.3.0/26'] }, destination: { nets: ['aabb::/122'] } }, '', 'mixes IPv4 and IPv6'],
  ['v4 and v6 in one list', { action: 'Allow', source: { nets: ['10.0.0.0/8', 'fd00::/8'] } }, '', 'mixes IPv4 and IPv6'],
  ['v4 nets, v6 notNets', { action: 'Allow', source: { nets: ['10.0.0.0/8'] }, destination: { notNets: ['fd00::/8'] } }, '', 'mixes'],
  ['ipVersion 6 with v4 net', { action: 'Allow', ipVersion: 6, source: { nets: ['1.2.3.4/32'] } }, 'source.nets[0]', 'does not match ipVersion 6'],
  [
    'ipVersion 4 with v6 dest net',
    { action: 'Allow', ipVersion: 4, destination: { nets: ['aabb:aabb::ffff/128'] } },
    'destination.nets[0]',
    'does not match ipVersion 4',
  ],
  ['invalid selector', { action: 'Allow', source: { selector: 'thing=hello &' } }, 'source.selector', 'invalid selector'],
  ['global() in selector', { action: 'Allow', source: { selector: '  global()  ' } }, 'source.selector', 'global()'],
  ['global() && bad in selector', { action: 'Allow', source: { selector: 'global() && bad' } }, 'source.selector', 'global()'],
  ['selector over 1024 chars', { action: 'Allow', source: { selector: `a == '${'x'.repeat(1020)}'` } }, 'source.selector', 'at most 1024'],
  ['invalid notSelector', { action: 'Allow', destination: { notSelector: 'a ==' } }, 'destination.notSelector', 'invalid selector'],
  [
    'global() AND-ed in namespaceSelector',
    { action: 'Allow', source: { namespaceSelector: ' global() && all()' } },
    'source.namespaceSelector',
    'cannot be combined',
  ],
  [
    'global() OR-ed in namespaceSelector',
    { action: 'Allow', source: { namespaceSelector: 'global()||all()' } },
    'source.namespaceSelector',
    'cannot be combined',
  ],
  [
    'invalid serviceAccounts selector',
    { action: 'Allow', source: { serviceAccounts: { selector: '&&' } } },
    'source.serviceAccounts.selector',
    'invalid selector',
  ],
  ['duplicate serviceAccounts names', { action: 'Allow', source: { serviceAccounts: { names: ['a', 'a'] } } }, 'source.serviceAccounts.names[1]', 'duplicate'],
  ['port 0', { action: 'Allow', protocol: 'TCP', destination: { notPorts: [0] } }, 'destination.notPorts[0]', 'from 1 to 65535'],
  ['port 65536', { action: 'Allow', protocol: 'TCP', destination: { ports: [65536] } }, 'destination.ports[0]', 'from 1 to 65535'],
  ['range min > max', { action: 'Allow', protocol: 'TCP', destination: { ports: [80, '90:80'] } }, 'destination.ports[1]', 'port range 90:80 has min > max'],
  ['range from 0', { action: 'Allow', protocol: 'TCP', destination: { ports: ['0:100'] } }, 'destination.ports[0]', 'from 1 to 65535'],
  ['range over 65535', { action: 'Allow', protocol: 'TCP', destination: { ports: ['1:70000'] } }, 'destination.ports[0]', 'from 1 to 65535'],
  ['invalid port name', { action: 'Allow', destination: { ports: ['Bad_Name'] } }, 'destination.ports[0]', 'invalid port "Bad_Name"'],
  ['port name with --', { action: 'Allow', destination: { ports: ['a--b'] } }, 'destination.ports[0]', '"--"'],
  ['port name too long', { action: 'Allow', destination: { ports: ['abcdefghijklmnop'] } }, 'destination.ports[0]', '1-15 characters'],
  ['port name with space', { action: 'Allow', destination: { ports: ['a b'] } }, 'destination.ports[0]', 'not a number'],
  ['51 ports', { action: 'Allow', protocol: 'TCP', destination: { ports: range(51, (i) => i + 1) } }, 'destination.ports', 'at most 50'],
  ['numeric port without protocol', { action: 'Allow', destination: { ports: [1] } }, 'destination.ports', 'require protocol TCP, UDP or SCTP (found 1)'],
  ['range in notPorts without protocol', { action: 'Allow', source: { notPorts: ['http', '10:20'] } }, 'source.notPorts', 'found 10:20'],
  ['named port with ICMP', { action: 'Allow', protocol: 'ICMP', destination: { ports: ['http'] } }, 'destination.ports', 'has no ports'],
  ['ports with protocol 7', { action: 'Allow', protocol: 7, source: { ports: [1] } }, 'source.ports', 'protocol 7 has no ports'],
  ['notPorts with protocol 100', { action: 'Allow', protocol: 100, source: { notPorts: [1] } }, 'source.notPorts', 'has no ports'],
  ['http on Deny', { action: 'Deny', http: { methods: ['GET'] } }, 'http', 'only allowed on Allow rules'],
  ['http with UDP', { action: 'Allow', protocol: 'UDP', http: { methods: ['GET'] } }, 'http', 'requires protocol TCP'],
  ['http path exact and prefix', { action: 'Allow', http: { paths: [{ exact: '/foo', prefix: '/bar' }] } }, 'http.paths[0]', 'not both'],
  ['http path with ?', { action: 'Allow', http: { paths: [{ exact: '/fo?o' }] } }, 'http.paths[0]', 'invalid HTTP path'],
  ['http path without /', { action: 'Allow', http: { paths: [{ prefix: 'foo' }] } }, 'http.paths[0]', 'must start with "/"'],
  ['empty http path', { action: 'Allow', http: { paths: [{}] } }, 'http.paths[0]', 'must set exact or prefix'],
  ['duplicate http methods', { action: 'Allow', http: { methods: ['GET', 'GET', 'Foo'] } }, 'http.methods[1]', 'duplicate'],
  [
    'services with selector',
    { action: 'Allow', source: { selector: "x == 'y'", services: { name: 's', namespace: 'n' } } },
    'source.selector',
    'cannot be combined with services',
  ],
  [
    'services with notSelector',
    { action: 'Allow', source: { notSelector: "x == 'y'", services: { name: 's', namespace: 'n' } } },
    'source.notSelector',
    'cannot be combined',
  ],
  [
    'services with namespaceSelector',
    { action: 'Allow', source: { namespaceSelector: "x == 'y'", services: { name: 's', namespace: 'n' } } },
    'source.namespaceSelector',
    'cannot be combined',
  ],
  ['services with nets', { action: 'Allow', source: { nets: ['10.0.0.0/8'], services: { name: 's', namespace: 'n' } } }, 'source.nets', 'cannot be combined'],
  [
    'services with notNets',
    { action: 'Allow', source: { notNets: ['10.0.0.0/8'], services: { name: 's', namespace: 'n' } } },
    'source.notNets',
    'cannot be combined',
  ],
  [
    'services with serviceAccounts',
    { action: 'Allow', source: { serviceAccounts: { names: ['sa'] }, services: { name: 's', namespace: 'n' } } },
    'source.serviceAccounts',
    'cannot be combined',
  ],
  ['services without name', { action: 'Allow', source: { services: { namespace: 'n' } } }, 'source.services.name', 'must name a service'],
  ['invalid service name', { action: 'Allow', source: { services: { name: 'Bad_Name', namespace: 'n' } } }, 'source.services.name', 'DNS-1123'],
  [
    'destination services with ports',
    { action: 'Allow', protocol: 'TCP', destination: { services: { name: 's', namespace: 'n' }, ports: [80] } },
    'destination.ports',
    'cannot be combined with destination services',
  ],
  ['invalid rule annotation key', { action: 'Allow', metadata: { annotations: { '...': 'bar' } } }, 'metadata.annotations["..."]', 'invalid annotation key'],
  ['rule that is not an object', 'Allow' as unknown as Obj, '', 'a rule must be an object'],
];

describe('rules: accepted', () => {
  for (const [name, rule] of validRules) test(name, () => void valid(ingressRule(rule)));
});

describe('rules: rejected', () => {
  for (const [name, rule, path, text] of invalidRules) {
    test(name, () => expectError(ingressRule(rule), path ? `${R}.${path}`.replace('.[', '[') : R, text));
  }
});

describe('rule values keep their API representation', () => {
  test('digit strings become numbers, names stay names', () => {
    const p = valid(ingressRule({ action: 'Allow', protocol: '6', destination: { ports: ['80', '90:100', 'http', 443] } })) as GlobalNetworkPolicy;
    const rule = p.spec.ingress?.[0];
    expect(rule?.protocol).toBe(6);
    expect(rule?.destination?.ports).toEqual([80, '90:100', 'http', 443]);
    const q = valid(ingressRule({ action: 'Allow', protocol: 'TCP' })) as GlobalNetworkPolicy;
    expect(q.spec.ingress?.[0]?.protocol).toBe('TCP');
  });

  test('an empty source/destination is accepted (YAML `source:` is null)', () => {
    expect(isValid(ingressRule({ action: 'Allow', source: null, destination: {} }))).toBe(true);
  });
});

describe('direction-specific rule constraints (GlobalNetworkPolicy)', () => {
  test('services in an egress destination need a namespace', () => {
    expect(isValid(egressRule({ action: 'Allow', destination: { services: { name: 's', namespace: 'ns' } } }))).toBe(true);
    expectError(
      egressRule({ action: 'Allow', destination: { services: { name: 's' } } }),
      'spec.egress[0].destination.services.namespace',
      'must specify a namespace',
    );
  });
  test('services in an ingress source need a namespace', () => {
    expectError(ingressRule({ action: 'Allow', source: { services: { name: 's' } } }), 'spec.ingress[0].source.services.namespace', 'must specify a namespace');
  });
  test('no services in an egress source or an ingress destination', () => {
    expectError(
      egressRule({ action: 'Allow', source: { services: { name: 's', namespace: 'n' } } }),
      'spec.egress[0].source.services',
      'not allowed in an egress rule source',
    );
    expectError(
      ingressRule({ action: 'Allow', destination: { services: { name: 's', namespace: 'n' } } }),
      'spec.ingress[0].destination.services',
      'not allowed in an ingress rule destination',
    );
  });
  test('http only on ingress', () => {
    expect(isValid(ingressRule({ action: 'Allow', http: { methods: ['GET'] } }))).toBe(true);
    expectError(egressRule({ action: 'Allow', http: { methods: ['GET'] } }), 'spec.egress[0].http', 'not allowed in egress rules');
  });
});

test('all errors of a rule are reported together', () => {
  const r = ingressRule({
    action: 'Allow',
    ipVersion: 6,
    protocol: 'ICMP',
    icmp: { code: 1 },
    source: { nets: ['10.0.0.1/24'], ports: [80] },
  });
  for (const [path, text] of [
    [`${R}.protocol`, 'requires ipVersion 4'],
    [`${R}.icmp.code`, 'requires an ICMP type'],
    [`${R}.source.nets[0]`, 'strictly masked'],
    [`${R}.source.nets[0]`, 'does not match ipVersion 6'],
    [`${R}.source.ports`, 'has no ports'],
  ] as const) {
    expectError(r, path, text);
  }
});
