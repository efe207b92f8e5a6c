/**
 * Feeds hostile inputs to outpost's parsers and sorts every outcome: accepted, refused with a
 * reason, or a defect (a throw, a refusal without a reason, an accepted forgery). Used by the fast
 * fuzz test and, at the sizes, by scripts/reliability.ts.
 */
import { parseManifest } from '../../src/model/manifest.ts';
import { validateResource } from '../../src/model/validate.ts';
import { decodeStored } from '../../src/datastore/calico-layout.ts';
import { parseSelector } from '../../src/selector/index.ts';
import { hostileEtcdValue, hostileManifest, hostileSelector, prng, structuralManifests, type Scale } from './hostile-inputs.ts';
import { tally, timed, type Tally } from './tally.ts';

export type { Tally } from './tally.ts';
export { fuzzSnapshots } from './snapshot-fuzz.ts';

function manifestOutcome(text: string): string {
  const r = parseManifest(text, 'fuzz.yaml');
  if (r.errors.some((e) => e.message.trim() === '')) return 'refused without a reason';
  if (r.errors.length > 0) return 'refused';
  return r.resources.length > 0 ? 'accepted' : 'empty';
}

export function fuzzManifests(n: number, seed: number, scale: Scale): Tally {
  const t = tally('manifests');
  for (const s of structuralManifests(scale)) timed(t, s.name, () => manifestOutcome(s.text));
  for (let i = 0; i < n; i++) {
    const rand = prng(seed + i);
    timed(t, `manifest seed ${seed + i}`, () => manifestOutcome(hostileManifest(rand, scale)));
  }
  return t;
}

const KEYS = ['hostendpoints/gw-eth0', 'globalnetworkpolicies/allow-office', 'globalnetworkpolicies/default.allow-office', 'globalnetworksets/office', 'felixconfigurations/default', 'tiers/t1', 'profiles/p', 'networksets/ns/a', 'workloadendpoints/ns/w'];

export function fuzzEtcdValues(n: number, seed: number, scale: Scale): Tally {
  const t = tally('etcd values');
  for (let i = 0; i < n; i++) {
    const rand = prng(seed + i);
    const key = `/calico/resources/v3/projectcalico.org/${KEYS[Math.floor(rand() * KEYS.length)]}`;
    const value = hostileEtcdValue(rand, scale);
    timed(t, `etcd value seed ${seed + i}`, () => {
      const d = decodeStored({ key, value, modRevision: String(1 + i) });
      if (d === undefined) return 'empty';
      if (!d.ok) return d.error.message.trim() === '' ? 'refused without a reason' : 'refused';
      const r = validateResource(d.object, key, { mode: 'stored' });
      if (r.ok) return 'accepted';
      return r.errors.some((e) => e.message.trim() === '') ? 'refused without a reason' : 'refused';
    });
  }
  return t;
}

export function fuzzSelectors(n: number, seed: number, scale: Scale): Tally {
  const t = tally('selectors');
  for (let i = 0; i < n; i++) {
    const rand = prng(seed + i);
    const text = hostileSelector(rand, scale);
    timed(t, `selector seed ${seed + i}`, () => {
      const r = parseSelector(text);
      if (r.ok) {
        r.selector.evaluate({ role: 'gw' });
        return 'accepted';
      }
      return r.error.trim() === '' ? 'refused without a reason' : 'refused';
    });
  }
  return t;
}
