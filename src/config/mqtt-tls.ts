/**
 * The MQTT TLS settings shared by the agent and the relay: the CA that signed the broker's
 * certificate, and this client's own certificate and key (scripts/pki.sh). Checked together so
 * a half-configured client fails at start instead of connecting in plain text or without an
 * identity the broker's ACL can use.
 */
import * as v from 'valibot';
import { NonEmpty } from './common-fields.ts';
import type { Setting } from './settings.ts';
import type { TlsFiles } from '../mqtt/client.ts';

export const MqttTlsFields = {
  brokerCa: v.optional(NonEmpty),
  brokerCert: v.optional(NonEmpty),
  brokerKey: v.optional(NonEmpty),
} as const;

interface MqttTlsConfig {
  readonly broker?: string | undefined;
  readonly brokerCa?: string | undefined;
  readonly brokerCert?: string | undefined;
  readonly brokerKey?: string | undefined;
}

/** What is wrong with the TLS settings (empty when nothing is). */
export function mqttTlsProblems(c: MqttTlsConfig): string[] {
  const given = [c.brokerCa, c.brokerCert, c.brokerKey].filter((x) => x !== undefined).length;
  const problems: string[] = [];
  if (given !== 0 && given !== 3) problems.push('brokerCa, brokerCert and brokerKey go together (the CA, this client\'s certificate and its key)');
  if (given !== 0 && c.broker !== undefined && !/^(mqtts|wss):/.test(c.broker)) problems.push('brokerCa/brokerCert/brokerKey need an mqtts:// broker URL (the certificate would otherwise not be used, or be sent in the clear)');
  return problems;
}

/** The client's TLS files, when configured. */
export function mqttTlsFiles(c: MqttTlsConfig): TlsFiles | undefined {
  return c.brokerCa && c.brokerCert && c.brokerKey ? { ca: c.brokerCa, cert: c.brokerCert, key: c.brokerKey } : undefined;
}

export const MQTT_TLS_SETTINGS: readonly Setting[] = [
  { key: 'brokerCa', env: 'OUTPOST_BROKER_CA', flag: '--broker-ca', kind: 'string', help: 'mqtts://: the CA certificate (PEM) that signed the broker\'s certificate and the client certificates (scripts/pki.sh)', path: 'file' },
  { key: 'brokerCert', env: 'OUTPOST_BROKER_CERT', flag: '--broker-cert', kind: 'string', help: 'mqtts://: this client\'s certificate (PEM); its CN is the identity the broker\'s ACL checks', path: 'file' },
  { key: 'brokerKey', env: 'OUTPOST_BROKER_KEY', flag: '--broker-key', kind: 'string', help: 'mqtts://: the private key (PEM) of brokerCert', path: 'file' },
];
