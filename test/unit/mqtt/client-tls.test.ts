import { afterAll, expect, test } from 'bun:test';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tlsOptions } from '../../../src/mqtt/client.ts';

const dir = await mkdtemp(join(tmpdir(), 'outpost-client-tls-'));
afterAll(() => rm(dir, { recursive: true, force: true }));
const files = { ca: join(dir, 'ca.crt'), cert: join(dir, 'gw.crt'), key: join(dir, 'gw.key') };
await writeFile(files.ca, 'CA PEM');
await writeFile(files.cert, 'CERT PEM');
await writeFile(files.key, 'SECRET KEY PEM', { mode: 0o600 });

test('the files are read, the server is verified, the hostname too unless told otherwise', () => {
  const o = tlsOptions(files);
  expect(String(o.key)).toBe('SECRET KEY PEM');
  expect(o.rejectUnauthorized).toBe(true);
  expect(o.checkServerIdentity).toBeUndefined();
  expect(tlsOptions({ ...files, checkHostname: false }).checkServerIdentity).toBeDefined();
});

test('a key readable by group or others is refused, naming the file and not its contents', async () => {
  await chmod(files.key, 0o644);
  let message = '';
  try {
    tlsOptions(files);
  } catch (e) {
    message = (e as Error).message;
  }
  expect(message).toContain(files.key);
  expect(message).toContain('chmod 600');
  expect(message).not.toContain('SECRET');
  await chmod(files.key, 0o600);
});

test('a missing file is named', () => {
  expect(() => tlsOptions({ ...files, cert: join(dir, 'nope.crt') })).toThrow(join(dir, 'nope.crt'));
});
