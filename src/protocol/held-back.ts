/**
 * A resource the datastore holds but outpost does not enforce because it is invalid: the relay
 * publishes the list (retained, `<prefix>/relay/held-back`), logs it and exposes it in metrics;
 * a local-mode agent keeps its own. `status` and `fleet` show it, so an invalid resource is never
 * held back silently while hosts report `in-sync`.
 */
import * as v from 'valibot';

/** Entries kept in a message; `count` still says how many there are in all. */
export const MAX_HELD_BACK_ITEMS = 200;

export const HeldBackItemSchema = v.object({
  kind: v.pipe(v.string(), v.maxLength(100)),
  name: v.pipe(v.string(), v.maxLength(300)),
  /** Where it was read: a file path, or the etcd key. */
  source: v.pipe(v.string(), v.maxLength(1000)),
  reason: v.pipe(v.string(), v.maxLength(1000)),
  /** True when its last valid version stays in force; false when nothing of it is enforced. */
  lastValidInForce: v.boolean(),
});

export const HeldBackSchema = v.object({
  count: v.pipe(v.number(), v.integer(), v.minValue(0)),
  items: v.pipe(v.array(HeldBackItemSchema), v.maxLength(MAX_HELD_BACK_ITEMS)),
  /** ISO 8601 time the list last changed. */
  since: v.pipe(v.string(), v.isoTimestamp()),
});

export type HeldBackItem = v.InferOutput<typeof HeldBackItemSchema>;
export type HeldBack = v.InferOutput<typeof HeldBackSchema>;

const clip = (s: string, n: number) => (s.length <= n ? s : `${s.slice(0, n - 1)}…`);

/**
 * An item within HeldBackItemSchema's lengths: a resource is often held back because its name
 * (or etcd key) is too long, and one entry over them would make a whole list unreadable.
 */
export const fitHeldBackItem = (i: HeldBackItem): HeldBackItem => ({ kind: clip(i.kind, 100), name: clip(i.name, 300), source: clip(i.source, 1000), reason: clip(i.reason, 1000), lastValidInForce: i.lastValidInForce });
