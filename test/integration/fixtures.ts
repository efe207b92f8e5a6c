/** YAML builders for the enforcement scenarios; only the fields a scenario varies are parameters. */
export const hep = (name: string, o: { iface?: string; node?: string; ips?: string[]; labels?: Record<string, string>; profiles?: string[]; ports?: string } = {}): string => `
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata:
  name: ${name}
  labels: ${JSON.stringify(o.labels ?? { host: 'gw' })}
spec:
  node: ${o.node ?? 'gw'}
${o.iface !== undefined ? `  interfaceName: "${o.iface}"\n` : ''}${o.ips ? `  expectedIPs: ${JSON.stringify(o.ips)}\n` : ''}  profiles: ${JSON.stringify(o.profiles ?? [])}
${o.ports ? `  ports: ${o.ports}\n` : ''}---
`;

export const gnp = (name: string, spec: string): string => `
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: ${name}
spec:
${spec.replace(/^\n/, '').replace(/^/gm, '  ')}
---
`;

export const doc = (kind: string, name: string, spec: string, labels?: Record<string, string>): string => `
apiVersion: projectcalico.org/v3
kind: ${kind}
metadata:
  name: ${name}
${labels ? `  labels: ${JSON.stringify(labels)}\n` : ''}spec:
${spec.replace(/^\n/, '').replace(/^/gm, '  ')}
---
`;
