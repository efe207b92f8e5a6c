#!/usr/bin/env bun
/**
 * A tiny authoritative DNS server for lab hosts (UDP only): answers A and AAAA queries from a
 * fixed table, NXDOMAIN for any other name. Enough for getaddrinfo through resolv.conf.
 *   dns-responder.ts --listen ADDR [--port 53] --records '{"broker.lab.test": ["198.18.4.2"]}'
 * Prints "ready" once bound.
 */
import { createSocket } from 'node:dgram';
import { isIP } from 'node:net';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { listen: { type: 'string' }, port: { type: 'string' }, records: { type: 'string' } } });
const listen = values.listen ?? '0.0.0.0';
const records = JSON.parse(values.records ?? '{}') as Record<string, string[]>;

function ipBytes(a: string): Buffer {
  if (isIP(a) === 4) return Buffer.from(a.split('.').map(Number));
  const [head = '', tail = ''] = a.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = a.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

const sock = createSocket(isIP(listen) === 6 ? 'udp6' : 'udp4');
sock.on('message', (q, rinfo) => {
  if (q.length < 17) return;
  let off = 12;
  const labels: string[] = [];
  while (off < q.length && q[off]! > 0) {
    labels.push(q.subarray(off + 1, off + 1 + q[off]!).toString());
    off += q[off]! + 1;
  }
  const qEnd = off + 5;
  const qtype = q.readUInt16BE(off + 1);
  const name = labels.join('.').toLowerCase();
  const known = records[name];
  const want = qtype === 1 ? 4 : qtype === 28 ? 6 : 0;
  const answers = (known ?? []).filter((a) => isIP(a) === want);
  const head = Buffer.alloc(12);
  q.copy(head, 0, 0, 2);
  head.writeUInt16BE(known ? 0x8580 : 0x8583, 2);
  head.writeUInt16BE(1, 4);
  head.writeUInt16BE(answers.length, 6);
  const rr = answers.map((a) => {
    const data = ipBytes(a);
    const b = Buffer.alloc(12);
    b.writeUInt16BE(0xc00c, 0);
    b.writeUInt16BE(qtype, 2);
    b.writeUInt16BE(1, 4);
    b.writeUInt32BE(5, 6);
    b.writeUInt16BE(data.length, 10);
    return Buffer.concat([b, data]);
  });
  sock.send(Buffer.concat([head, q.subarray(12, qEnd), ...rr]), rinfo.port, rinfo.address);
});
sock.bind(Number(values.port ?? 53), listen, () => console.log('ready'));
