/**
 * A policy's (or profile's) compiled rules depend on nothing but the policy: set ids come from
 * selector text, not from set contents. The relay compiles each policy object once and shares
 * the result between every node that uses it (less work, and plans that share objects compare
 * at a glance). What compiling did to the node's context — selectors parsed (their warnings),
 * warnings, sets registered — is recorded and replayed on every use, in the same order, so a
 * plan built from the cache is the plan built without it.
 */
import type { PlanPolicy } from '../plan/schema.ts';
import type { Selector } from '../selector/index.ts';
import type { CompileContext } from './rule-compiler.ts';

type Event =
  | { readonly k: 'sel'; readonly text: string }
  | { readonly k: 'warn'; readonly message: string }
  | { readonly k: 'ip'; readonly sel: Selector }
  | { readonly k: 'port'; readonly sel: Selector | undefined; readonly names: readonly string[]; readonly protocol: number | undefined };

/** Keyed by the policy or profile object: a changed resource is a new object, so it misses. */
export type CompileCache = WeakMap<object, { readonly plan: PlanPolicy; readonly events: readonly Event[] }>;

export function compileCached(cache: CompileCache | undefined, owner: object, ctx: CompileContext, build: (ctx: CompileContext) => PlanPolicy): PlanPolicy {
  if (!cache) return build(ctx);
  const hit = cache.get(owner);
  if (hit) {
    for (const e of hit.events) {
      if (e.k === 'sel') ctx.selector(e.text);
      else if (e.k === 'warn') ctx.warn(e.message);
      else if (e.k === 'ip') ctx.sets.ipSet(e.sel);
      else ctx.sets.portSet(e.sel, e.names, e.protocol);
    }
    return hit.plan;
  }
  const events: Event[] = [];
  const recording: CompileContext = {
    selector: (text) => {
      events.push({ k: 'sel', text });
      return ctx.selector(text);
    },
    warn: (message) => {
      events.push({ k: 'warn', message });
      ctx.warn(message);
    },
    sets: {
      ipSet: (sel) => {
        events.push({ k: 'ip', sel });
        return ctx.sets.ipSet(sel);
      },
      portSet: (sel, names, protocol) => {
        events.push({ k: 'port', sel, names: [...names], protocol });
        return ctx.sets.portSet(sel, names, protocol);
      },
    },
  };
  const plan = build(recording);
  cache.set(owner, { plan, events });
  return plan;
}
