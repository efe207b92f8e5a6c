/** Report → HostEndpoint, and the decision that keeps it current without touching anyone else's. */
import { describe, expect, test } from 'bun:test';
import { CREATED_BY_LABEL, CREATED_BY_OUTPOST, autoHepName, desiredHep, isOutposts, nextStep } from '../../../src/autohep/hep-mapping.ts';
import type { InterfacesReport } from '../../../src/autohep/report-schema.ts';
import type { HostEndpoint } from '../../../src/model/host-endpoint.ts';
import { decodeStored, encodeForStorage } from '../../../src/datastore/calico-layout.ts';

const report: InterfacesReport = { version: 1, node: 'gw', interfaces: [{ name: 'eth1', addresses: ['fd00::2', '198.18.1.1'] }, { name: 'eth0', addresses: ['198.18.0.2'] }], labels: { site: 'north' } };

function hep(r: InterfacesReport = report): HostEndpoint {
  const h = desiredHep(r);
  if (h instanceof Error) throw h;
  return h;
}

/** What etcd holds after `outpost apply` of `h`, read back as Calico's client returns it. */
function stored(h: HostEndpoint): Record<string, unknown> {
  const e = encodeForStorage(h, 'create', { uid: '00000000-0000-4000-8000-000000000001', now: new Date('2026-01-01T00:00:00Z') });
  if (!e.ok) throw new Error(e.message);
  const d = decodeStored({ key: e.key, value: e.value, modRevision: '7', createRevision: '7', version: '1' } as never);
  if (!d?.ok) throw new Error('cannot decode');
  return d.object;
}

describe('desiredHep', () => {
  test('Calico\'s auto host endpoint shape: <node>-auto-hep, interfaceName *, expectedIPs, default-allow profile, labels + created-by', () => {
    expect(hep()).toEqual({
      apiVersion: 'projectcalico.org/v3',
      kind: 'HostEndpoint',
      metadata: { name: 'gw-auto-hep', labels: { site: 'north', [CREATED_BY_LABEL]: CREATED_BY_OUTPOST } },
      spec: { node: 'gw', interfaceName: '*', expectedIPs: ['198.18.0.2', '198.18.1.1', 'fd00::2'], profiles: ['projectcalico-default-allow'] },
    } as HostEndpoint);
  });

  test('a report with no address that counts gives no HEP (an Error saying so)', () => {
    const r = desiredHep({ ...report, interfaces: [] });
    expect(r).toBeInstanceOf(Error);
    expect((r as Error).message).toBe('the report lists no address that counts');
  });

  test('names: <node>-auto-hep up to 253 characters, a lower-case hash past that', () => {
    expect(autoHepName('gw')).toBe('gw-auto-hep');
    const node242 = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(50)}`;
    expect(autoHepName(node242)).toBe(`${node242}-auto-hep`);
    const long = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`;
    const name = autoHepName(long);
    expect(name).toMatch(/^[a-z0-9]+-auto-hep$/);
    expect(name.length).toBeLessThanOrEqual(253);
    expect(autoHepName(long)).toBe(name);
    expect(autoHepName(`${long.slice(0, -1)}e`)).not.toBe(name);
    // Still a valid HEP for such a node.
    expect(desiredHep({ ...report, node: long })).not.toBeInstanceOf(Error);
  });
});

describe('nextStep', () => {
  const name = 'gw-auto-hep';

  test('nothing stored: create; node gone: nothing', () => {
    expect(nextStep(undefined, hep(), name)).toEqual({ do: 'create', hep: hep() });
    expect(nextStep(undefined, undefined, name)).toEqual({ do: 'nothing' });
  });

  test('the stored one is what the report says: nothing (never rewritten), whatever order the report listed things in', () => {
    const shuffled = { ...report, interfaces: [...report.interfaces].reverse(), labels: { site: 'north' } };
    expect(nextStep(stored(hep()), hep(shuffled), name)).toEqual({ do: 'nothing' });
  });

  test('an address or a label changed: update', () => {
    const moved = { ...report, interfaces: [{ name: 'eth0', addresses: ['198.18.0.3'] }] };
    expect(nextStep(stored(hep()), hep(moved), name)).toEqual({ do: 'update', hep: hep(moved) });
    const relabelled = { ...report, labels: { site: 'south' } };
    expect(nextStep(stored(hep()), hep(relabelled), name).do).toBe('update');
    const unlabelled = { ...report, labels: {} };
    expect(nextStep(stored(hep()), hep(unlabelled), name).do).toBe('update');
  });

  test('someone edited outpost\'s HEP (ports, another profile): put back', () => {
    const s = stored(hep());
    const spec = s['spec'] as Record<string, unknown>;
    expect(nextStep({ ...s, spec: { ...spec, ports: [{ name: 'web', protocol: 'TCP', port: 80 }] } }, hep(), name).do).toBe('update');
    expect(nextStep({ ...s, spec: { ...spec, profiles: ['other'] } }, hep(), name).do).toBe('update');
  });

  test('node gone and the HEP is outpost\'s: delete', () => {
    expect(nextStep(stored(hep()), undefined, name)).toEqual({ do: 'delete' });
  });

  test('a HEP of that name outpost did not create is never updated nor deleted', () => {
    const operators = stored({ ...hep(), metadata: { name, labels: { site: 'north' } } } as HostEndpoint);
    expect(isOutposts(operators)).toBe(false);
    for (const want of [hep(), undefined]) {
      const s = nextStep(operators, want, name);
      expect(s.do).toBe('refuse');
      expect((s as { reason: string }).reason).toBe(`HostEndpoint gw-auto-hep exists without the label ${CREATED_BY_LABEL}: ${CREATED_BY_OUTPOST}; outpost changes and deletes only the host endpoints it created (rename or delete that one to let outpost manage it)`);
    }
    const kubeControllers = stored({ ...hep(), metadata: { name, labels: { [CREATED_BY_LABEL]: 'calico-kube-controllers' } } } as HostEndpoint);
    const s = nextStep(kubeControllers, undefined, name);
    expect((s as { reason: string }).reason).toMatch(/exists created by "calico-kube-controllers"/);
    // No labels at all, or labels that are not a map: not outpost's.
    expect(nextStep({ metadata: { name } }, undefined, name).do).toBe('refuse');
    expect(nextStep({ metadata: { name, labels: 'x' } }, undefined, name).do).toBe('refuse');
  });
});
