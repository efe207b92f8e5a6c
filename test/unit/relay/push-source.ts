/**
 * Datastore stand-ins and resources for the relay tests: a source that hands the relay a first
 * state when it starts and any later one when the test pushes it, and one host endpoint plus one
 * policy per node (labelled with the node's name) to fill it with.
 */
import { expect } from 'bun:test';
import { parseManifest } from '../../../src/model/manifest.ts';
import type { DatastoreListener, DatastoreSource } from '../../../src/datastore/source.ts';
import { gnp, hep } from '../../integration/fixtures.ts';

export class PushSource implements DatastoreSource {
  listener: DatastoreListener | undefined;
  constructor(private readonly text: string, private readonly firstRevision = '10') {}
  async start(l: DatastoreListener) {
    this.listener = l;
    this.push(this.firstRevision, this.text);
  }
  /** A new state; its text must be valid (a typo in a test would otherwise drop resources quietly). */
  push(revision: string, text: string) {
    const r = parseManifest(text, 'test');
    expect(r.errors).toEqual([]);
    this.listener!.onState({ revision, resources: r.resources });
  }
  async stop() {}
}

/** Host endpoints `<node>-eth0`, each labelled `role: <node>`. */
export const nodeHeps = (...nodes: string[]) => nodes.map((n) => hep(`${n}-eth0`, { iface: 'eth0', node: n, labels: { role: n } })).join('');
/** Policy `p-<node>`: node's endpoints allow TCP `port` in. */
export const nodePolicy = (node: string, port: number) => gnp(`p-${node}`, `selector: role == '${node}'\ningress: [{action: Allow, protocol: TCP, destination: {ports: [${port}]}}]`);
