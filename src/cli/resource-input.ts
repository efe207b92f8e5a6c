/**
 * Inputs of the resource commands: kind names as calicoctl accepts them, and the resources of
 * `-f FILE|DIR|-` (a folder: its .yaml/.yml/.json files, sub-folders only with -R, as
 * calicoctl's file iterator does).
 */
import { readdir, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { parseManifest } from '../model/manifest.ts';
import { manifestSizeProblem } from '../model/limits.ts';
import { readManifestFile } from '../datastore/manifest-files.ts';
import type { Resource, ResourceKind } from '../model/resource.ts';
import type { ResourceError, ResourceWarning } from '../model/validate.ts';
import { UsageError, type CliIO } from './io.ts';

/** CliIO, plus stdin for `-f -` when a caller (a test) wants to provide it. */
export type ResourceIO = CliIO & { readonly stdin?: () => Promise<string> };

const KIND_ALIASES: Readonly<Record<string, ResourceKind>> = {
  hostendpoint: 'HostEndpoint', hostendpoints: 'HostEndpoint', hep: 'HostEndpoint', heps: 'HostEndpoint',
  globalnetworkpolicy: 'GlobalNetworkPolicy', globalnetworkpolicies: 'GlobalNetworkPolicy', gnp: 'GlobalNetworkPolicy', gnps: 'GlobalNetworkPolicy',
  stagedglobalnetworkpolicy: 'StagedGlobalNetworkPolicy', stagedglobalnetworkpolicies: 'StagedGlobalNetworkPolicy', sgnp: 'StagedGlobalNetworkPolicy', sgnps: 'StagedGlobalNetworkPolicy',
  profile: 'Profile', profiles: 'Profile', pro: 'Profile', pros: 'Profile',
  globalnetworkset: 'GlobalNetworkSet', globalnetworksets: 'GlobalNetworkSet', gnetsets: 'GlobalNetworkSet', gns: 'GlobalNetworkSet',
  tier: 'Tier', tiers: 'Tier',
  felixconfiguration: 'FelixConfiguration', felixconfigurations: 'FelixConfiguration', felixconfig: 'FelixConfiguration', felixconfigs: 'FelixConfiguration',
  networkset: 'NetworkSet', networksets: 'NetworkSet', netsets: 'NetworkSet',
  workloadendpoint: 'WorkloadEndpoint', workloadendpoints: 'WorkloadEndpoint', wep: 'WorkloadEndpoint', weps: 'WorkloadEndpoint',
};

/** Calico kinds calicoctl knows that outpost deliberately does not manage. */
const OTHER_CALICO_KINDS = /^(networkpolic|stagednetworkpolic|ippool|ipreservation|bgp|node|clusterinfo|kubecontrollersconfig|ipamconfig)/;

export function parseKind(word: string): ResourceKind {
  const kind = KIND_ALIASES[word.toLowerCase()];
  if (kind) return kind;
  if (OTHER_CALICO_KINDS.test(word.toLowerCase())) {
    throw new UsageError(`resource type '${word}' is not managed by outpost (supported: HostEndpoint, GlobalNetworkPolicy, StagedGlobalNetworkPolicy, Profile, GlobalNetworkSet, NetworkSet, Tier, FelixConfiguration; WorkloadEndpoint to get and delete)`);
  }
  throw new UsageError(`resource type '${word}' is not supported`);
}

const MANIFEST_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

async function manifestFiles(path: string, recursive: boolean): Promise<string[]> {
  const st = await stat(path);
  if (!st.isDirectory()) return [path];
  const out: string[] = [];
  for (const e of (await readdir(path, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const p = join(path, e.name);
    if (e.isDirectory() && recursive) out.push(...(await manifestFiles(p, true)));
    else if (!MANIFEST_EXTENSIONS.has(extname(e.name).toLowerCase())) continue;
    // A symlinked manifest is read like a file; a dangling one is listed so that reading it
    // reports the problem instead of leaving it out silently.
    else if (e.isFile() || (e.isSymbolicLink() && (await stat(p).then((st) => st.isFile(), () => true)))) out.push(p);
  }
  return out;
}

export interface LoadedResource {
  readonly resource: Resource;
  readonly source: string;
}

export interface LoadedInput {
  readonly resources: LoadedResource[];
  /** Validation problems (file, resource and field) and unreadable paths; nothing may be written then. */
  readonly problems: string[];
  readonly errors: ResourceError[];
  /** Valid input outpost will not act on, or (Calico kinds it does not manage) will not store. */
  readonly warnings: ResourceWarning[];
}

export async function loadInput(paths: readonly string[], recursive: boolean, io: ResourceIO): Promise<LoadedInput> {
  const resources: LoadedResource[] = [];
  const problems: string[] = [];
  const errors: ResourceError[] = [];
  const warnings: ResourceWarning[] = [];
  for (const path of paths) {
    let files: string[];
    try {
      files = path === '-' ? ['-'] : await manifestFiles(path, recursive);
    } catch (e) {
      problems.push(`cannot read ${path}: ${(e as Error).message}`);
      continue;
    }
    if (files.length === 0) problems.push(`no resources specified in directory ${path}`);
    for (const file of files) {
      let text: string;
      try {
        // The folder datastore's capped read: an oversized file is refused from its size, never
        // read whole (parseManifest refuses an oversized text too, for stdin).
        if (file === '-') text = await (io.stdin?.() ?? Bun.stdin.text());
        else {
          const read = await readManifestFile(file);
          if (!read.ok) {
            errors.push({ source: file, path: '', message: manifestSizeProblem(Number(read.size))! });
            continue;
          }
          text = new TextDecoder().decode(read.bytes);
        }
      } catch (e) {
        problems.push(`cannot read ${file}: ${(e as Error).message}`);
        continue;
      }
      const source = file === '-' ? '<stdin>' : file;
      const parsed = parseManifest(text, source);
      errors.push(...parsed.errors);
      warnings.push(...parsed.warnings);
      const empty = parsed.resources.length === 0 && parsed.errors.length === 0 && parsed.warnings.length === 0;
      if (empty) problems.push(`no resources specified in file ${source}`);
      resources.push(...parsed.resources.map((resource) => ({ resource, source })));
    }
  }
  return { resources, problems, errors, warnings };
}
