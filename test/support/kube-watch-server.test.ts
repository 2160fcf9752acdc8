import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { request } from 'node:https';
import { after, before, describe, it } from 'node:test';
import { type KubeApiserverDouble, startKubeApiserverDouble } from './kube-apiserver-double.js';

// The double's LIST and WATCH answer as the API concepts documentation says kube-apiserver does;
// these tests read its wire format directly, without the adapter's client.

interface Json {
  kind?: string;
  apiVersion?: string;
  reason?: string;
  code?: number;
  message?: string;
  metadata: { name?: string; resourceVersion?: string; labels?: Record<string, string> };
  items: Json[];
}
interface Event {
  type: string;
  object: Json;
}

const METADATA_LIST = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1';
const METADATA = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1';

describe('kube-apiserver double: list and watch', () => {
  let double: KubeApiserverDouble;

  function get(path: string, accept = 'application/json'): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const url = new URL(path, double.url);
      const req = request(
        url,
        { ca: double.caPem, headers: { Authorization: `Bearer ${double.adapterToken}`, Accept: accept } },
        resolve,
      );
      req.on('error', reject);
      req.end();
    });
  }

  async function body(response: IncomingMessage): Promise<Json> {
    let text = '';
    for await (const chunk of response) text += String(chunk);
    return JSON.parse(text) as Json;
  }

  /** Reads watch events until `count` arrived, then hangs up. */
  async function events(response: IncomingMessage, count: number): Promise<Event[]> {
    const seen: Event[] = [];
    let pending = '';
    for await (const chunk of response) {
      pending += String(chunk);
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) if (line) seen.push(JSON.parse(line));
      if (seen.length >= count) break;
    }
    return seen;
  }

  const pod = (name: string, labels: Record<string, string>) => ({
    group: '',
    version: 'v1',
    resource: 'pods',
    namespace: 'default',
    name,
    labels,
  });

  before(async () => {
    double = await startKubeApiserverDouble();
    double.watch.put(pod('web-1', { app: 'web' }));
    double.watch.put(pod('db-1', { app: 'db' }));
  });
  after(() => double.close());

  it('lists PartialObjectMetadata (metadata only) at the current resourceVersion when asked', async () => {
    const response = await get(
      '/api/v1/namespaces/default/pods?labelSelector=app%3Dweb',
      `${METADATA_LIST}, application/json`,
    );
    assert.equal(response.statusCode, 200);
    const list = await body(response);
    assert.equal(list.kind, 'PartialObjectMetadataList');
    assert.equal(list.apiVersion, 'meta.k8s.io/v1');
    assert.equal(list.metadata.resourceVersion, double.watch.resourceVersion);
    assert.deepEqual(
      list.items.map((i) => [i.kind, i.apiVersion, i.metadata.name, i.metadata.labels, 'spec' in i]),
      [['PartialObjectMetadata', 'meta.k8s.io/v1', 'web-1', { app: 'web' }, false]],
    );
    const full = await body(await get('/api/v1/namespaces/default/pods'));
    assert.equal(full.kind, 'PodList');
    assert.ok(full.items[0] && 'spec' in full.items[0]);
  });

  it('answers 406 with a Status when no Accept type can be served', async () => {
    const response = await get('/api/v1/namespaces/default/pods', 'application/json;as=Table;g=meta.k8s.io;v=v9');
    assert.equal(response.statusCode, 406);
    assert.equal((await body(response)).reason, 'NotAcceptable');
  });

  it('streams chunked JSON events from a resourceVersion: changes after it, then live ones, bookmarks on request', async () => {
    const from = double.watch.resourceVersion;
    double.watch.put(pod('web-2', { app: 'web' }));
    const response = await get(`/api/v1/pods?watch=1&resourceVersion=${from}&allowWatchBookmarks=true`, METADATA);
    assert.equal(response.statusCode, 200);
    assert.equal(response.headers['transfer-encoding'], 'chunked');
    assert.equal(response.headers['content-type'], 'application/json');
    const reading = events(response, 4);
    await waitUntil(() => double.watch.openWatches === 1);
    double.watch.put(pod('web-2', { app: 'web', tier: 'front' }));
    double.watch.remove(pod('db-1', {}));
    double.watch.bookmark();
    const seen = await reading;
    assert.deepEqual(
      seen.map((e) => [e.type, e.object.kind, e.object.metadata.name]),
      [
        ['ADDED', 'PartialObjectMetadata', 'web-2'],
        ['MODIFIED', 'PartialObjectMetadata', 'web-2'],
        ['DELETED', 'PartialObjectMetadata', 'db-1'],
        ['BOOKMARK', 'PartialObjectMetadata', undefined],
      ],
    );
    assert.deepEqual(seen[3]?.object.metadata, { resourceVersion: double.watch.resourceVersion });
    assert.deepEqual(seen[1]?.object.metadata.labels, { app: 'web', tier: 'front' });
  });

  it('starts a watch without resourceVersion with a synthetic ADDED per existing object', async () => {
    const seen = await events(await get('/api/v1/namespaces/default/pods?watch=true', METADATA), 2);
    assert.deepEqual(seen.map((e) => [e.type, e.object.metadata.name]).sort(), [
      ['ADDED', 'web-1'],
      ['ADDED', 'web-2'],
    ]);
  });

  it('answers a resourceVersion older than its history with an ERROR event carrying a 410 Expired Status', async () => {
    const old = double.watch.resourceVersion;
    double.watch.put(pod('web-3', { app: 'web' }));
    double.watch.compact();
    const response = await get(`/api/v1/pods?watch=1&resourceVersion=${old}`, METADATA);
    assert.equal(response.statusCode, 200);
    const [event] = await events(response, 1);
    assert.equal(event?.type, 'ERROR');
    assert.equal(event?.object.kind, 'Status');
    assert.equal(event?.object.code, 410);
    assert.equal(event?.object.reason, 'Expired');
    assert.match(event?.object.message ?? '', /^too old resource version: \d+ \(\d+\)$/);
  });

  it('ends a watch cleanly after timeoutSeconds', async () => {
    // Before the request: the double's clock starts when the request arrives, and a busy machine
    // may deliver the headers to this process long after that.
    const started = Date.now();
    const response = await get(
      `/api/v1/pods?watch=1&resourceVersion=${double.watch.resourceVersion}&timeoutSeconds=1`,
      METADATA,
    );
    const seen = await events(response, 1);
    assert.deepEqual(seen, []);
    assert.ok(Date.now() - started >= 900);
  });

  it('answers a programmed 403 to watches alone, as RBAC without the watch verb does', async () => {
    double.failures.set('watches', 403);
    try {
      const denied = await get('/api/v1/pods?watch=1', METADATA);
      assert.equal(denied.statusCode, 403);
      assert.equal((await body(denied)).reason, 'Forbidden');
      assert.equal((await get('/api/v1/pods', METADATA_LIST)).statusCode, 200);
    } finally {
      double.failures.clear();
    }
  });
});

async function waitUntil(condition: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
