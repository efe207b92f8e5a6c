// Builders and assertions shared by the model tests: wrap a fragment (a rule, a spec)
// into a whole resource and check the outcome of validateResource.
import { expect } from 'bun:test';
import { validateResource, formatResourceError, type Resource, type ResourceError } from '../../../src/model/index.ts';

export type Obj = Record<string, unknown>;

export const resource = (kind: string, name: string, spec?: Obj, metadata: Obj = {}): Obj => ({
  apiVersion: 'projectcalico.org/v3',
  kind,
  metadata: { name, ...metadata },
  ...(spec === undefined ? {} : { spec }),
});

export const gnp = (spec: Obj = {}, name = 'test', metadata: Obj = {}) => resource('GlobalNetworkPolicy', name, spec, metadata);
export const hep = (spec: Obj, name = 'test', metadata: Obj = {}) => resource('HostEndpoint', name, spec, metadata);
export const ingressRule = (rule: Obj) => gnp({ ingress: [rule] });
export const egressRule = (rule: Obj) => gnp({ egress: [rule] });

export function valid(raw: unknown): Resource {
  const r = validateResource(raw);
  if (!r.ok) throw new Error(`expected valid, got:\n${r.errors.map(formatResourceError).join('\n')}`);
  return r.resource;
}

export function errorsOf(raw: unknown): ResourceError[] {
  const r = validateResource(raw);
  if (r.ok) throw new Error(`expected invalid, but it validated: ${JSON.stringify(raw)}`);
  return r.errors;
}

/** Asserts the resource is invalid and that some error has `path` and a message containing `text`. */
export function expectError(raw: unknown, path: string, text: string): void {
  const errors = errorsOf(raw);
  const hit = errors.some((e) => e.path === path && e.message.includes(text));
  if (!hit) {
    throw new Error(`no error at ${JSON.stringify(path)} containing ${JSON.stringify(text)}; got:\n${errors.map(formatResourceError).join('\n')}`);
  }
  expect(hit).toBe(true);
}

export function isValid(raw: unknown): boolean {
  return validateResource(raw).ok;
}
