// HostEndpoint validation, table-driven with passing and failing cases.
import { describe, expect, test } from 'bun:test';
import { expectError, hep, isValid, valid, type Obj } from './helpers.ts';
import type { HostEndpoint } from '../../../src/model/index.ts';

const base = { node: 'node01', interfaceName: 'eth0' };

const accepted: [string, Obj][] = [
  ['interface and node', base],
  ['expected IPs only', { node: 'node01', expectedIPs: ['1.2.3.4', 'aabb:aabb::ffff'] }],
  ['interface and expected IPs', { ...base, expectedIPs: ['10.0.0.5'] }],
  ['wildcard interface', { node: 'node01', interfaceName: '*' }],
  ['15-character interface with _ . -', { node: 'n', interfaceName: 'br_0.100-abcdef' }],
  ['node as a subdomain', { node: 'web-1.example.com', interfaceName: 'eth0' }],
  ['profiles', { ...base, profiles: ['projectcalico-default-allow', 'knp.default.fun', 'knp.default.funner.11234-a'] }],
  // Duplicates: accepted by v3.29–v3.31; refusing them would leave the interface open.
  ['duplicate expectedIPs', { node: 'n', expectedIPs: ['10.0.0.1', '10.0.0.1'] }],
  ['duplicate profiles', { ...base, profiles: ['a', 'b', 'a'] }],
  ['named port', { ...base, ports: [{ name: 'https', protocol: 'TCP', port: 443 }] }],
  ['numeric protocols 6/17/132', { ...base, ports: [6, 17, 132].map((protocol, i) => ({ name: `p${i}`, protocol, port: 1000 + i })) }],
  ['SCTP port 65535', { ...base, ports: [{ name: 'x', protocol: 'SCTP', port: 65535 }] }],
  [
    'name-clashing ports (same name, TCP and UDP)',
    {
      ...base,
      ports: [
        { name: 'a-valid-port', protocol: 'TCP', port: 1234 },
        { name: 'a-valid-port', protocol: 'UDP', port: 5456 },
      ],
    },
  ],
];

const rejected: [string, Obj, string, string][] = [
  ['no node', { interfaceName: 'eth0' }, 'spec.node', 'node is required'],
  ['empty node', { node: '', interfaceName: 'eth0' }, 'spec.node', 'node is required'],
  ['node with upper case', { node: 'Node01', interfaceName: 'eth0' }, 'spec.node', 'DNS-1123'],
  ['neither interface nor IPs', { node: 'n' }, 'spec', 'at least one of interfaceName or expectedIPs'],
  ['blank interface and empty IPs', { node: 'n', interfaceName: '', expectedIPs: [] }, 'spec', 'at least one of'],
  ['16-character interface', { node: 'n', interfaceName: 'abcdefghijklmnop' }, 'spec.interfaceName', '1-15 characters'],
  ['interface with /', { node: 'n', interfaceName: 'eth/0' }, 'spec.interfaceName', 'interfaceName must be "*"'],
  ['interface wildcard pattern', { node: 'n', interfaceName: 'eth*' }, 'spec.interfaceName', '"eth*"'],
  ['CIDR in expectedIPs', { node: 'n', expectedIPs: ['10.0.0.1/32'] }, 'spec.expectedIPs[0]', 'not a CIDR'],
  ['bad IP in expectedIPs', { node: 'n', expectedIPs: ['999.999.999.999'] }, 'spec.expectedIPs[0]', 'plain IPv4 or IPv6'],
  ['bad IPv6 in expectedIPs', { node: 'n', expectedIPs: ['xyz:::'] }, 'spec.expectedIPs[0]', 'plain IPv4 or IPv6'],
  ['profile name with leading dot', { ...base, profiles: ['.fun'] }, 'spec.profiles[0]', 'DNS-1123'],
  ['unnamed port', { ...base, ports: [{ protocol: 'TCP', port: 1234 }] }, 'spec.ports[0].name', 'name is required'],
  ['port name with upper case', { ...base, ports: [{ name: 'HTTPS', protocol: 'TCP', port: 443 }] }, 'spec.ports[0].name', 'invalid port name "HTTPS"'],
  ['port name of digits only', { ...base, ports: [{ name: '8080', protocol: 'TCP', port: 8080 }] }, 'spec.ports[0].name', 'at least one letter'],
  ['port name ending with -', { ...base, ports: [{ name: 'web-', protocol: 'TCP', port: 80 }] }, 'spec.ports[0].name', 'start or end'],
  ['port without protocol', { ...base, ports: [{ name: 'p', port: 1234 }] }, 'spec.ports[0].protocol', 'protocol is required'],
  ['port with numeric protocol 123', { ...base, ports: [{ name: 'p', protocol: 123, port: 1 }] }, 'spec.ports[0].protocol', 'has no ports'],
  ['port with ICMP', { ...base, ports: [{ name: 'p', protocol: 'ICMP', port: 1 }] }, 'spec.ports[0].protocol', 'has no ports'],
  ['port with lower-case tcp', { ...base, ports: [{ name: 'p', protocol: 'tcp', port: 1 }] }, 'spec.ports[0].protocol', 'exact case'],
  ['port 0', { ...base, ports: [{ name: 'p', protocol: 'TCP', port: 0 }] }, 'spec.ports[0].port', 'from 1 to 65535'],
  ['port 65536', { ...base, ports: [{ name: 'p', protocol: 'TCP', port: 65536 }] }, 'spec.ports[0].port', 'from 1 to 65535'],
  ['port missing', { ...base, ports: [{ name: 'p', protocol: 'TCP' }] }, 'spec.ports[0].port', 'port is required'],
];

test('duplicate expectedIPs and profiles are kept as written (the plan de-duplicates)', () => {
  const h = valid(hep({ node: 'n', expectedIPs: ['10.0.0.1', '10.0.0.2', '10.0.0.1'], profiles: ['b', 'a', 'b'] })) as HostEndpoint;
  expect(h.spec.expectedIPs).toEqual(['10.0.0.1', '10.0.0.2', '10.0.0.1']);
  expect(h.spec.profiles).toEqual(['b', 'a', 'b']);
});

describe('HostEndpoint: accepted', () => {
  for (const [name, spec] of accepted) test(name, () => void valid(hep(spec)));
});

describe('HostEndpoint: rejected', () => {
  for (const [name, spec, path, text] of rejected) test(name, () => expectError(hep(spec), path, text));
});

describe('HostEndpoint output', () => {
  test('keeps the API representation and list order', () => {
    const h = valid(
      hep(
        {
          node: 'web1',
          interfaceName: 'eth0',
          expectedIPs: ['10.0.0.5'],
          profiles: ['b', 'a'],
          ports: [{ name: 'https', protocol: 'TCP', port: 443 }],
        },
        'web1-eth0',
        { labels: { role: 'web' }, uid: '3f0c', creationTimestamp: '2026-01-01T00:00:00Z' },
      ),
    ) as HostEndpoint;
    expect(h.spec.profiles).toEqual(['b', 'a']);
    expect(h.spec.ports).toEqual([{ name: 'https', protocol: 'TCP', port: 443 }]);
    expect(h.metadata).toEqual({
      name: 'web1-eth0',
      labels: { role: 'web' },
      uid: '3f0c',
      creationTimestamp: '2026-01-01T00:00:00Z',
    });
  });

  test('a missing spec reports the spec requirements', () => {
    expectError({ apiVersion: 'projectcalico.org/v3', kind: 'HostEndpoint', metadata: { name: 'x' } }, 'spec.node', 'node is required');
    expect(isValid(hep(base))).toBe(true);
  });
});
