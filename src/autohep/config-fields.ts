/**
 * The auto host endpoint settings, for the agent's and the relay's configuration schemas and
 * setting tables (spread into them, so each config file names them in one line).
 */
import * as v from 'valibot';
import type { Setting } from '../config/settings.ts';
import { parseExcludeSetting, parseLabelSetting } from './interface-report.ts';

const Labels = v.pipe(
  v.unknown(),
  v.rawTransform(({ dataset, addIssue, NEVER }) => {
    const r = parseLabelSetting(dataset.value);
    if (!r.ok) {
      addIssue({ message: r.message });
      return NEVER;
    }
    return r.value;
  }),
);

const Exclude = v.pipe(
  v.array(v.string('each entry must be a CIDR string')),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const r = parseExcludeSetting(dataset.value);
    if (!r.ok) addIssue({ message: r.message });
  }),
);

export const AutoHepAgentFields = {
  autoHostEndpoint: v.optional(v.boolean('must be true or false'), false),
  autoHostEndpointLabels: v.optional(Labels),
  autoHostEndpointExclude: v.optional(Exclude),
};

/** Cross-setting problems of the agent's auto host endpoint settings. */
export function autoHepAgentProblems(c: { autoHostEndpoint: boolean; autoHostEndpointLabels?: unknown; autoHostEndpointExclude?: unknown; broker?: string | undefined }): string[] {
  const out: string[] = [];
  if (c.autoHostEndpoint && c.broker === undefined) out.push('autoHostEndpoint: only with a broker (the interfaces report goes to the relay over MQTT)');
  if (!c.autoHostEndpoint && c.autoHostEndpointLabels !== undefined) out.push('autoHostEndpointLabels: only with autoHostEndpoint: true (they are the labels of the host endpoint the relay writes)');
  if (!c.autoHostEndpoint && c.autoHostEndpointExclude !== undefined) out.push('autoHostEndpointExclude: only with autoHostEndpoint: true');
  return out;
}

export const AUTO_HEP_AGENT_SETTINGS: readonly Setting[] = [
  { key: 'autoHostEndpoint', env: 'OUTPOST_AUTO_HOST_ENDPOINT', flag: '--auto-host-endpoint', kind: 'boolean', help: 'relay mode: report this host\'s interfaces and addresses (retained, <prefix>/nodes/<node>/interfaces) so a relay with autoHostEndpoints writes <node>-auto-hep for it' },
  { key: 'autoHostEndpointLabels', env: 'OUTPOST_AUTO_HOST_ENDPOINT_LABELS', flag: '--auto-host-endpoint-labels', kind: 'list', help: 'labels of <node>-auto-hep: key=value (repeatable; env: comma-separated; in the file a map or a list); keys under projectcalico.org/ are reserved' },
  { key: 'autoHostEndpointExclude', env: 'OUTPOST_AUTO_HOST_ENDPOINT_EXCLUDE', flag: '--auto-host-endpoint-exclude', kind: 'list', help: 'addresses in these CIDRs are not reported (e.g. a VPN or container bridge); loopback and link-local never are (repeatable; env: comma-separated)' },
];

export const AutoHepRelayFields = {
  autoHostEndpoints: v.optional(v.boolean('must be true or false'), false),
};

export function autoHepRelayProblems(c: { autoHostEndpoints: boolean; resources?: readonly string[] | undefined }): string[] {
  return c.autoHostEndpoints && c.resources !== undefined
    ? ['autoHostEndpoints: only with the etcd datastore (etcd or calicoctlConfig); the relay never writes into a folder of manifests, so list each host\'s HostEndpoint there yourself']
    : [];
}

export const AUTO_HEP_RELAY_SETTINGS: readonly Setting[] = [
  { key: 'autoHostEndpoints', env: 'OUTPOST_AUTO_HOST_ENDPOINTS', flag: '--auto-host-endpoints', kind: 'boolean', help: 'etcd datastore: write <node>-auto-hep (interfaceName "*", expectedIPs and labels from the agent\'s interfaces report, profile projectcalico-default-allow) for every agent with autoHostEndpoint, keep it current, delete it when the report is cleared' },
];
