/**
 * A hard cap on incoming MQTT packets, enforced on the byte stream before MQTT.js buffers a
 * packet. MQTT.js's parser collects a whole packet in memory before anyone can look at it (and
 * its maximumPacketSize check runs after that, MQTT 5 only), so a broker delivering a 250 MiB
 * publish would cost 250 MiB. This filter reads each packet's fixed header (1 byte + the
 * remaining length, at most 4 bytes) and:
 *
 *   size ≤ max                 → passed through unchanged
 *   PUBLISH over max           → its topic and packet id are read (a few bytes), the rest is
 *                                dropped as it streams by, never held; QoS 1 is acknowledged
 *                                (PUBACK), so the broker does not redeliver it on every reconnect
 *                                and its in-flight window stays open; reported as oversized
 *   any other packet over max  → the connection is closed (no broker sends such a thing)
 *
 * Works the same for MQTT 3.1.1 and 5 (the fixed header is the same). Pure state machine in
 * PacketFilter; guardStream wraps a transport stream with it.
 */
import { Duplex } from 'node:stream';

export interface Oversized {
  readonly bytes: number;
  readonly topic: string;
  readonly qos: number;
}

export interface FilterStep {
  /** Bytes to hand to the MQTT parser, in order. */
  readonly out: Uint8Array[];
  readonly oversized: Oversized[];
  /** Packets to write back to the broker (PUBACKs for dropped QoS 1 publishes). */
  readonly replies: Uint8Array[];
  /** Set when the stream must be closed. */
  readonly fatal?: string;
}

const PUBLISH = 3;
/** Passed bytes the reader has not taken yet, above which the transport is paused. */
const PAUSE_ABOVE = 1024 * 1024;
const MAX_TOPIC_BYTES = 4096;
/** Received bytes between forced collections (see guardStream). */
const GC_EVERY_BYTES = 32 * 1024 * 1024;

export class PacketFilter {
  private state: 'header' | 'pass' | 'inspect' | 'skip' = 'header';
  private head: number[] = [];
  private remaining = 0;
  private inspected: number[] = [];
  private inspectNeed = 0;
  private qos = 0;
  private total = 0;
  private failed: string | undefined;

  /** 'skip': an oversized PUBLISH is dropped and reported (a client); 'close': it ends the connection (a broker). */
  constructor(private readonly maxBytes: number, private readonly mode: 'skip' | 'close' = 'skip') {}

  push(chunk: Uint8Array): FilterStep {
    const step: { out: Uint8Array[]; oversized: Oversized[]; replies: Uint8Array[]; fatal?: string } = { out: [], oversized: [], replies: [] };
    if (this.failed !== undefined) return { ...step, fatal: this.failed };
    let i = 0;
    let passFrom = -1;
    const flushPass = (to: number) => {
      if (passFrom >= 0 && to > passFrom) step.out.push(chunk.subarray(passFrom, to));
      passFrom = -1;
    };
    while (i < chunk.length) {
      switch (this.state) {
        case 'header': {
          this.head.push(chunk[i++]!);
          if (this.head.length === 1) break;
          const last = this.head[this.head.length - 1]!;
          if (last & 0x80) {
            if (this.head.length > 4) return this.fail(step, 'malformed MQTT remaining length');
            break;
          }
          let len = 0;
          for (let k = this.head.length - 1; k >= 1; k--) len = len * 128 + (this.head[k]! & 0x7f);
          const first = this.head[0]!;
          if (len <= this.maxBytes) {
            step.out.push(Uint8Array.from(this.head));
            this.head = [];
            this.remaining = len;
            this.state = len === 0 ? 'header' : 'pass';
            break;
          }
          if (first >> 4 !== PUBLISH || this.mode === 'close') return this.fail(step, `MQTT packet type ${first >> 4} of ${len} bytes is over the ${this.maxBytes}-byte limit`);
          this.qos = (first >> 1) & 3;
          if (this.qos > 1) return this.fail(step, `QoS ${this.qos} publish of ${len} bytes is over the ${this.maxBytes}-byte limit`);
          this.head = [];
          this.total = len;
          this.remaining = len;
          this.inspected = [];
          this.inspectNeed = 2;
          this.state = 'inspect';
          break;
        }
        case 'pass': {
          const n = Math.min(this.remaining, chunk.length - i);
          if (passFrom < 0) passFrom = i;
          i += n;
          this.remaining -= n;
          if (this.remaining === 0) {
            flushPass(i);
            this.state = 'header';
          }
          break;
        }
        case 'inspect': {
          this.inspected.push(chunk[i++]!);
          this.remaining--;
          if (this.inspected.length === 2) {
            const topicLen = (this.inspected[0]! << 8) | this.inspected[1]!;
            if (topicLen > MAX_TOPIC_BYTES) return this.fail(step, `oversized publish with a ${topicLen}-byte topic`);
            this.inspectNeed = 2 + topicLen + (this.qos > 0 ? 2 : 0);
          }
          if (this.inspected.length === this.inspectNeed) {
            const topicLen = this.inspectNeed - 2 - (this.qos > 0 ? 2 : 0);
            const topic = new TextDecoder().decode(Uint8Array.from(this.inspected.slice(2, 2 + topicLen)));
            step.oversized.push({ bytes: this.total, topic, qos: this.qos });
            if (this.qos === 1) step.replies.push(Uint8Array.from([0x40, 0x02, this.inspected[2 + topicLen]!, this.inspected[3 + topicLen]!]));
            this.inspected = [];
            this.state = this.remaining === 0 ? 'header' : 'skip';
          }
          break;
        }
        case 'skip': {
          const n = Math.min(this.remaining, chunk.length - i);
          i += n;
          this.remaining -= n;
          if (this.remaining === 0) this.state = 'header';
          break;
        }
      }
    }
    if (this.state === 'pass') flushPass(chunk.length);
    return step;
  }

  private fail(step: FilterStep, why: string): FilterStep {
    this.failed = why;
    return { ...step, fatal: why };
  }
}

/**
 * `inner` (the transport MQTT.js built) behind a PacketFilter. Writes go straight through and
 * complete at once, so a PUBACK written by the filter can never land inside one of MQTT.js's
 * multi-write packets (it writes each packet within one tick).
 */
export function guardStream(inner: Duplex, maxBytes: number, onOversized: (o: Oversized) => void, mode: 'skip' | 'close' = 'skip'): Duplex {
  const filter = new PacketFilter(maxBytes, mode);
  const outer = new Duplex({
    read() {
      inner.resume();
    },
    write(chunk: Buffer, _enc, cb) {
      inner.write(chunk);
      cb();
    },
    final(cb) {
      inner.end();
      cb();
    },
    destroy(err, cb) {
      inner.destroy();
      cb(err);
    },
  });
  let sinceGc = 0;
  inner.on('data', (chunk: Buffer) => {
    // Socket chunks are garbage as soon as they are parsed or skipped, but the runtime collects
    // lazily: a 250 MiB publish streaming by would otherwise leave its chunks around for a while.
    sinceGc += chunk.length;
    if (sinceGc >= GC_EVERY_BYTES) {
      sinceGc = 0;
      Bun.gc(true);
    }
    const step = filter.push(chunk);
    for (const o of step.oversized) onOversized(o);
    for (const r of step.replies) inner.write(r);
    if (step.fatal !== undefined) {
      outer.destroy(new Error(step.fatal));
      return;
    }
    // One push per chunk received: a reader that takes one read() per 'readable' (Aedes) sees
    // everything that arrived together.
    if (step.out.length === 1) outer.push(step.out[0]);
    else if (step.out.length > 1) outer.push(Buffer.concat(step.out));
    // Flow control by buffered bytes, not push()'s return value (under Bun it can say "full"
    // while the reader waits for more, and the reader then never gets it: Aedes stalls).
    if (outer.readableLength > PAUSE_ABOVE) inner.pause();
  });
  inner.on('end', () => outer.push(null));
  inner.on('error', (e) => outer.destroy(e));
  inner.on('close', () => outer.destroy());
  return outer;
}

/**
 * Puts every stream an MQTT.js client builds (first connect and each reconnect) behind the
 * guard. The client must be created with `manualConnect: true` and connected afterwards, so
 * that not even the first stream escapes.
 */
export function guardClient(client: { streamBuilder: (c: never) => Duplex }, maxBytes: number, onOversized: (o: Oversized) => void): void {
  const build = client.streamBuilder;
  client.streamBuilder = (c: never) => guardStream(build(c), maxBytes, onOversized);
}
