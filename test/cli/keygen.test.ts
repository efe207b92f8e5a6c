/** `outpost keygen` and the key files it writes, read back by outpost and by openssl. */
import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { generateKeyPairSync, sign, verify } from 'node:crypto';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keygenCommand } from '../../src/cli/keygen-command.ts';
import { UsageError } from '../../src/cli/io.ts';
import { keyId } from '../../src/protocol/key-id.ts';
import { generateSigningKeyPair, loadPrivateKey, loadPublicKey, privateKeyToPem, publicKeyToPem, type LoadKeyResult } from '../../src/platform/signing.ts';

let dir: string;
const hasOpenssl = Bun.which('openssl') !== null;

async function keygen(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await keygenCommand(args, { out: (t) => (out += `${t}\n`), err: (t) => (err += `${t}\n`), env: {} });
  return { code, out, err };
}

function loaded(r: LoadKeyResult) {
  if (!r.ok) throw new Error(r.message);
  return r;
}

function openssl(...args: string[]): string {
  const r = Bun.spawnSync(['openssl', ...args], { stderr: 'pipe' });
  if (r.exitCode !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr.toString()}`);
  return r.stdout.toString();
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'outpost-keygen-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('outpost keygen', () => {
  test('writes relay.key (0600) and relay.pub (0644), leaves no temp files, and prints the key id', async () => {
    const r = await keygen('--out', join(dir, 'relay'));
    expect(r.code).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(['relay.key', 'relay.pub']);
    expect(statSync(join(dir, 'relay.key')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'relay.pub')).mode & 0o777).toBe(0o644);
    const priv = loaded(await loadPrivateKey(join(dir, 'relay.key')));
    const pub = loaded(await loadPublicKey(join(dir, 'relay.pub')));
    expect(priv.insecureMode).toBeFalse();
    expect(r.out).toContain(`key id ${keyId(pub.key)}`);
    expect(keyId(priv.key)).toBe(keyId(pub.key));
    const sig = sign(null, Buffer.from('m'), priv.key);
    expect(verify(null, Buffer.from('m'), pub.key, sig)).toBeTrue();
  });

  test('refuses to overwrite an existing key or public key without --force, and writes neither', async () => {
    writeFileSync(join(dir, 'relay.pub'), 'old');
    const r = await keygen('--out', join(dir, 'relay'));
    expect(r.code).toBe(1);
    expect(r.err).toContain('relay.pub already exists');
    expect(r.err).toContain('--force');
    expect(readdirSync(dir)).toEqual(['relay.pub']);
    expect(readFileSync(join(dir, 'relay.pub'), 'utf8')).toBe('old');
  });

  test('--force replaces both files with a new pair', async () => {
    await keygen('--out', join(dir, 'relay'));
    const before = readFileSync(join(dir, 'relay.key'), 'utf8');
    const r = await keygen('--out', join(dir, 'relay'), '--force');
    expect(r.code).toBe(0);
    expect(readFileSync(join(dir, 'relay.key'), 'utf8')).not.toBe(before);
    expect(statSync(join(dir, 'relay.key')).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir).sort()).toEqual(['relay.key', 'relay.pub']);
  });

  test('"--out relay.key" names the pair "relay"', async () => {
    expect((await keygen('--out', join(dir, 'relay.key'))).code).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(['relay.key', 'relay.pub']);
  });

  test('usage errors', async () => {
    await expect(keygen()).rejects.toThrow(UsageError);
    await expect(keygen('--out', '')).rejects.toThrow(UsageError);
    await expect(keygen('--out', join(dir, 'a'), 'extra')).rejects.toThrow(UsageError);
  });

  test('reports a folder it cannot write to', async () => {
    const r = await keygen('--out', join(dir, 'missing', 'relay'));
    expect(r.code).toBe(1);
    expect(r.err).toContain('cannot write the key pair');
  });
});

describe.if(hasOpenssl)('key files are openssl-compatible', () => {
  test('openssl reads the keys outpost writes, and derives the same public key', async () => {
    await keygen('--out', join(dir, 'relay'));
    expect(openssl('pkey', '-in', join(dir, 'relay.key'), '-noout', '-text')).toContain('ED25519 Private-Key');
    const derived = openssl('pkey', '-in', join(dir, 'relay.key'), '-pubout');
    expect(derived).toBe(readFileSync(join(dir, 'relay.pub'), 'utf8'));
  });

  test('outpost reads keys openssl writes', async () => {
    openssl('genpkey', '-algorithm', 'ed25519', '-out', join(dir, 'o.key'));
    openssl('pkey', '-in', join(dir, 'o.key'), '-pubout', '-out', join(dir, 'o.pub'));
    chmodSync(join(dir, 'o.key'), 0o600);
    const priv = loaded(await loadPrivateKey(join(dir, 'o.key')));
    const pub = loaded(await loadPublicKey(join(dir, 'o.pub')));
    expect(keyId(priv.key)).toBe(keyId(pub.key));
  });
});

describe('loading key files', () => {
  const write = (name: string, text: string, mode = 0o600) => {
    const p = join(dir, name);
    writeFileSync(p, text, { mode });
    chmodSync(p, mode);
    return p;
  };
  const pair = generateSigningKeyPair();

  test('round-trips PEM', async () => {
    const k = loaded(await loadPrivateKey(write('k', privateKeyToPem(pair.privateKey))));
    const p = loaded(await loadPublicKey(write('p', publicKeyToPem(pair.publicKey))));
    expect(keyId(k.key)).toBe(keyId(pair.publicKey));
    expect(keyId(p.key)).toBe(keyId(pair.publicKey));
    expect(publicKeyToPem(pair.privateKey)).toBe(publicKeyToPem(pair.publicKey));
  });

  test('refuses a private key readable or writable by group or others, naming the file and the fix', async () => {
    for (const mode of [0o644, 0o640, 0o604, 0o620]) {
      const p = write('k', privateKeyToPem(pair.privateKey), mode);
      const r = await loadPrivateKey(p);
      expect(r.ok).toBeFalse();
      if (r.ok) continue;
      expect(r.problem).toBe('insecure-mode');
      expect(r.message).toContain(`${p}: private key is`);
      expect(r.message).toContain(`mode 0${mode.toString(8)}`);
      expect(r.message).toContain(`chmod 600 ${p}`);
      expect(r.message).not.toContain('BEGIN');
    }
    for (const mode of [0o600, 0o400]) expect((await loadPrivateKey(write('k', privateKeyToPem(pair.privateKey), mode))).ok).toBeTrue();
  });

  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
  const cases: [string, () => Promise<LoadKeyResult>, string, string][] = [
    ['a missing private key', () => loadPrivateKey(join(dir, 'nope.key')), 'missing', 'no such file'],
    ['a missing public key', () => loadPublicKey(join(dir, 'nope.pub')), 'missing', 'no such file'],
    ['a folder', () => loadPublicKey(dir), 'unreadable', 'not a regular file'],
    ['text that is not PEM', () => loadPublicKey(write('p', 'hello')), 'not-pem', 'not a PEM file'],
    ['a damaged PEM', () => loadPublicKey(write('p', '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n')), 'not-pem', 'cannot parse'],
    ['a private key where the public key belongs', () => loadPublicKey(write('p', privateKeyToPem(pair.privateKey))), 'private-not-public', 'is a PRIVATE key'],
    ['a public key where the private key belongs', () => loadPrivateKey(write('k', publicKeyToPem(pair.publicKey))), 'public-not-private', 'is a public key'],
    ['an RSA private key', () => loadPrivateKey(write('k', rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString())), 'not-ed25519', 'rsa'],
    ['an RSA public key', () => loadPublicKey(write('p', rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString())), 'not-ed25519', 'rsa'],
    ['a PKCS#1 RSA key', () => loadPrivateKey(write('k', rsa.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString())), 'not-ed25519', 'RSA PRIVATE KEY'],
    ['an encrypted key', () => loadPrivateKey(write('k', pair.privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'x' }).toString())), 'encrypted', 'passphrase'],
    ['an OpenSSH key', () => loadPrivateKey(write('k', '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaA==\n-----END OPENSSH PRIVATE KEY-----\n')), 'not-pem', 'OpenSSH'],
  ];
  test.each(cases)('refuses %s, naming the file', async (_what, load, problem, text) => {
    const r = await load();
    expect(r.ok).toBeFalse();
    if (r.ok) return;
    expect(r.problem).toBe(problem as never);
    expect(r.message).toStartWith(dir);
    expect(r.message).toContain(text);
  });
});
