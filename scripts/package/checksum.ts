/** SHA-256 of an artifact, written beside it in sha256sum's format (`sha256sum -c` checks it). */
import { basename } from 'node:path';
import { checksumPath } from './layout.ts';

export async function sha256File(path: string): Promise<string> {
  const hasher = new Bun.CryptoHasher('sha256');
  for await (const chunk of Bun.file(path).stream()) hasher.update(chunk);
  return hasher.digest('hex');
}

/** Writes `<artifact>.sha256` = "<hex>  <file name>\n" and returns its path. */
export async function writeChecksum(artifact: string): Promise<string> {
  const out = checksumPath(artifact);
  await Bun.write(out, `${await sha256File(artifact)}  ${basename(artifact)}\n`);
  return out;
}
