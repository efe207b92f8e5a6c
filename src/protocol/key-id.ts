/**
 * Key ids: a short name for an ed25519 public key, carried in every snapshot so that a refusal can
 * say which key signed it ("signed by 3f2a…, this agent trusts 9c41…") and so that an agent can
 * trust more than one key while the relay's key is rotated.
 *
 * node:crypto is used as a pure function here (hashing, key export): no I/O.
 */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';

/** Hex characters kept from the SHA-256 of the raw key: 64 bits, plenty to tell a handful of keys apart. */
export const KEY_ID_LENGTH = 16;

/** True when `key` is an ed25519 key of the given type. */
export function isEd25519(key: KeyObject, type: 'public' | 'private'): boolean {
  return key.asymmetricKeyType === 'ed25519' && key.type === type;
}

/** The raw 32-byte ed25519 public key (of a public key, or of the public half of a private key). */
export function rawPublicKey(key: KeyObject): Uint8Array {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  if (pub.asymmetricKeyType !== 'ed25519') throw new TypeError(`expected an ed25519 key, got ${pub.asymmetricKeyType ?? pub.type}`);
  const jwk = pub.export({ format: 'jwk' });
  return new Uint8Array(Buffer.from(jwk.x ?? '', 'base64url'));
}

/** First 16 hex characters of SHA-256 over the raw public key; the same for a private key and its public half. */
export function keyId(key: KeyObject): string {
  return createHash('sha256').update(rawPublicKey(key)).digest('hex').slice(0, KEY_ID_LENGTH);
}
