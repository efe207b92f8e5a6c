/** Builds validated resources from YAML for calc/render tests; fails the test on invalid input. */
import { parseManifest } from '../../../src/model/manifest.ts';
import type { Resource } from '../../../src/model/resource.ts';

export function resources(yaml: string): Resource[] {
  const r = parseManifest(yaml, 'test.yaml');
  if (r.errors.length) throw new Error(`invalid test resources: ${JSON.stringify(r.errors)}`);
  return r.resources;
}
