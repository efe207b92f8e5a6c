/** One-shot read of files/folders of resources for the CLI commands (validate, render, selector). */
import { FileResourceSource } from '../datastore/file-source.ts';
import type { Resource } from '../model/resource.ts';
import type { ResourceError, ResourceWarning } from '../model/validate.ts';

export async function loadResourcesOnce(
  paths: readonly string[],
): Promise<{ resources: Resource[]; errors: ResourceError[]; warnings: ResourceWarning[]; fatal: string | undefined }> {
  const source = new FileResourceSource(paths);
  const r = await source.load();
  return { resources: source.current(), errors: [...r.errors], warnings: [...r.warnings], fatal: r.fatal };
}
