// HostEndpoint: which interface/IPs of which node the policy applies to, the
// profiles it inherits, and the named ports that rules can refer to.
import * as v from 'valibot';
import {
  API_VERSION,
  addAt,
  intInRange,
  ipAddressSchema,
  messageFor,
  portNameProblem,
  show,
  stringSchema,
  isSubdomain,
  obj,
} from './common.ts';
import { metadataSchema, subdomainNameRule } from './metadata.ts';
import { ProtocolSchema, isValidProtocol, protocolSupportsPorts } from './match.ts';

const INTERFACE_RE = /^[a-zA-Z0-9_.-]{1,15}$/;

export const EndpointPortSchema = v.pipe(
  obj(
    {
      name: v.pipe(
        stringSchema('port name'),
        v.rawCheck(({ dataset, addIssue }) => {
          if (!dataset.typed) return;
          const problem = portNameProblem(dataset.value);
          if (problem) addIssue({ message: `invalid port name ${show(dataset.value)}: ${problem}` });
        }),
      ),
      protocol: ProtocolSchema,
      port: intInRange('port', 1, 65535),
    },
    'a port',
  ),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const p = dataset.value.protocol;
    if (isValidProtocol(p) && !protocolSupportsPorts(p)) {
      addAt(
        addIssue,
        dataset.value,
        ['protocol'],
        `protocol ${show(p)} has no ports; use TCP, UDP or SCTP (or 6, 17, 132)`,
      );
    }
  }),
);
export type EndpointPort = v.InferOutput<typeof EndpointPortSchema>;

export const HostEndpointSpecSchema = v.pipe(
  obj(
    {
      node: v.exactOptional(
        v.pipe(
          stringSchema('node'),
          v.check(
            (s) => s === '' || isSubdomain(s),
            messageFor('node must be a DNS-1123 subdomain of at most 253 characters'),
          ),
        ),
      ),
      interfaceName: v.exactOptional(
        v.pipe(
          stringSchema('interfaceName'),
          v.check(
            (s) => s === '' || s === '*' || INTERFACE_RE.test(s),
            messageFor('interfaceName must be "*" or 1-15 characters of letters, digits, "_", "." and "-"'),
          ),
        ),
      ),
      // Duplicates are accepted and kept as written (v3.29–v3.31 accept them; an invalid HEP
      // would leave its interface open). The plan computation de-duplicates.
      expectedIPs: v.exactOptional(v.array(ipAddressSchema('expectedIPs entry'), messageFor('expectedIPs must be a list'))),
      profiles: v.exactOptional(
        v.array(
          v.pipe(
            stringSchema('profile name'),
            v.check(isSubdomain, messageFor('profile name must be a DNS-1123 subdomain')),
          ),
          messageFor('profiles must be a list'),
        ),
      ),
      ports: v.exactOptional(v.array(EndpointPortSchema, messageFor('ports must be a list'))),
    },
    'spec',
  ),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const s = dataset.value;
    if (!s.node) addAt(addIssue, s, ['node'], 'node is required');
    if (!s.interfaceName && (s.expectedIPs?.length ?? 0) === 0) {
      addIssue({ message: 'at least one of interfaceName or expectedIPs must be specified' });
    }
  }),
);

export const HostEndpointSchema = v.object({
  apiVersion: v.literal(API_VERSION),
  kind: v.literal('HostEndpoint'),
  metadata: metadataSchema(subdomainNameRule),
  spec: v.exactOptional(HostEndpointSpecSchema, {}),
});
export type HostEndpoint = v.InferOutput<typeof HostEndpointSchema>;
