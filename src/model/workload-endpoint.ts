// WorkloadEndpoint (namespaced): a pod (or VM) of a Calico
// cluster, as the CNI plugin stores it in etcd. outpost never enforces a WEP; it reads them so
// rule selectors resolve to the cluster's pod addresses and named ports (calc/members.ts).
//
// The checks are the ones that decide membership and are Calico's own
// (validator/v3 validateWorkloadEndpointSpec, validateWorkloadEndpointPort): names, labels,
// ipNetworks entries that are single addresses, profile names, ports. Fields outpost does not
// use (gateways, MAC, NATs, QoS) are only type-checked, so a stored WEP is not dropped for a
// detail that cannot change which addresses a selector matches.
import * as v from 'valibot';
import {
  API_VERSION,
  addAt,
  intInRange,
  isSubdomain,
  messageFor,
  obj,
  portNameProblem,
  show,
  stringSchema,
} from './common.ts';
import { subdomainNameRule } from './metadata.ts';
import { ProtocolSchema, isValidProtocol, protocolSupportsPorts } from './match.ts';
import { namespacedMetadataSchema } from './namespaced.ts';
import { parseCIDROrIP } from '../net/ip.ts';

const optionalString = (what: string) => v.exactOptional(stringSchema(what));

const optionalName = (what: string) =>
  v.exactOptional(
    v.pipe(
      stringSchema(what),
      v.check((s) => s === '' || isSubdomain(s), messageFor(`${what} must be a DNS-1123 subdomain`)),
    ),
  );

/** "10.0.0.5", "10.0.0.5/32" or "fd00::5/128": ipNetworks hold single addresses only. */
const singleAddressSchema = v.pipe(
  stringSchema('ipNetworks entry'),
  v.check((s) => {
    const c = parseCIDROrIP(s);
    return c !== undefined && c.prefix === (c.version === 4 ? 32 : 128);
  }, messageFor('ipNetworks entry must be a single address (an IP, /32 or /128)')),
);

export const WorkloadEndpointPortSchema = v.pipe(
  obj(
    {
      // Empty only for a hostPort-only entry (the CNI plugin writes those); Felix skips it.
      name: v.exactOptional(stringSchema('port name'), ''),
      protocol: ProtocolSchema,
      port: intInRange('port', 1, 65535),
      hostPort: v.exactOptional(intInRange('hostPort', 0, 65535)),
      hostIP: optionalString('hostIP'),
    },
    'a port',
  ),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const p = dataset.value;
    if (isValidProtocol(p.protocol) && !protocolSupportsPorts(p.protocol)) {
      addAt(addIssue, p, ['protocol'], `protocol ${show(p.protocol)} has no ports; use TCP, UDP or SCTP (or 6, 17, 132)`);
    }
    if (p.name === '') {
      if (!p.hostPort) addAt(addIssue, p, ['name'], 'port name must not be empty if no hostPort is specified');
    } else {
      const problem = portNameProblem(p.name);
      if (problem) addAt(addIssue, p, ['name'], `invalid port name ${show(p.name)}: ${problem}`);
    }
  }),
);
export type WorkloadEndpointPort = v.InferOutput<typeof WorkloadEndpointPortSchema>;

export const WorkloadEndpointSpecSchema = obj(
  {
    orchestrator: optionalString('orchestrator'),
    workload: optionalString('workload'),
    node: optionalString('node'),
    containerID: optionalString('containerID'),
    pod: optionalString('pod'),
    endpoint: optionalString('endpoint'),
    serviceAccountName: optionalName('serviceAccountName'),
    ipNetworks: v.exactOptional(v.array(singleAddressSchema, messageFor('ipNetworks must be a list'))),
    ipNATs: v.exactOptional(
      v.array(
        obj({ internalIP: optionalString('internalIP'), externalIP: optionalString('externalIP') }, 'an ipNATs entry'),
        messageFor('ipNATs must be a list'),
      ),
    ),
    ipv4Gateway: optionalString('ipv4Gateway'),
    ipv6Gateway: optionalString('ipv6Gateway'),
    profiles: v.exactOptional(
      v.array(
        v.pipe(stringSchema('profile name'), v.check(isSubdomain, messageFor('profile name must be a DNS-1123 subdomain'))),
        messageFor('profiles must be a list'),
      ),
    ),
    interfaceName: optionalString('interfaceName'),
    mac: optionalString('mac'),
    ports: v.exactOptional(v.array(WorkloadEndpointPortSchema, messageFor('ports must be a list'))),
    allowSpoofedSourcePrefixes: v.exactOptional(v.array(stringSchema('allowSpoofedSourcePrefixes entry'), messageFor('allowSpoofedSourcePrefixes must be a list'))),
    // Bandwidth and rate limits; nothing outpost reads.
    qosControls: v.exactOptional(v.looseObject({}, messageFor('qosControls must be an object'))),
  },
  'spec',
);

export const WorkloadEndpointSchema = v.object({
  apiVersion: v.literal(API_VERSION),
  kind: v.literal('WorkloadEndpoint'),
  metadata: namespacedMetadataSchema(subdomainNameRule),
  spec: v.exactOptional(WorkloadEndpointSpecSchema, {}),
});
export type WorkloadEndpoint = v.InferOutput<typeof WorkloadEndpointSchema>;
