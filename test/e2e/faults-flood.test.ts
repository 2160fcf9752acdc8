import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Agent, request as httpsRequest } from 'node:https';
import { describe, it } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { adapterRequest, sampleOf } from '../support/adapter-client.js';
import { HPA_USER, startClusterHarness } from '../support/cluster-harness.js';
import { startedForFile } from '../support/started-for-file.js';

/**
 * A flood of distinct bad requests — a broken client, a fuzzer, a scanner on the pod network —
 * against the adapter as a cluster runs it: each gets its 4xx Status (or the HTTP parser's 4xx),
 * memory stays bounded, the process stays up, and the HPA's reads are still answered correctly.
 */

/**
 * The flood stops at TOTAL requests, or after FLOOD_BUDGET_MS once at least MIN_ANSWERED were sent,
 * and in any case after FLOOD_HARD_LIMIT_MS. Throughput depends on what else shares the cores:
 * on a 2-core machine shared with builds and benchmarks we measured 56 to 550 a second.
 */
const TOTAL = 20_000;
const FLOOD_BUDGET_MS = 20_000;
const MIN_ANSWERED = 1_000;
/** Not even MIN_ANSWERED answers by then means the adapter all but stopped answering. */
const FLOOD_HARD_LIMIT_MS = 45_000;
const CONCURRENCY = 32;
const MAX_RSS_GROWTH_BYTES = 100 * 1024 * 1024;
/**
 * The adapter runs with a V8 heap smaller than the Deployment's (--max-old-space-size=320): V8
 * collects garbage lazily, so without a cap RSS reflects garbage not yet collected; with it, a
 * leak shows as a crash or as RSS growth, and garbage does not.
 */
const HEAP_LIMIT_MB = 128;

const CONFIG = `
static:
  external:
    - metric: queue-depth
      series:
        - { labels: { queue: jobs }, value: 42 }
  custom:
    - metric: http_requests
      resource: pods
      objects:
        - { namespace: shop, name: web-1, labels: { app: web }, value: 12 }
`;
const QUEUE_DEPTH = '/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/queue-depth';
const POD_REQUESTS = '/apis/custom.metrics.k8s.io/v1beta2/namespaces/shop/pods/web-1/http_requests';

const word = (n = 8) => randomBytes(n).toString('base64url').replace(/[-_]/g, 'x').toLowerCase();
const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)] as T;

/** Selectors Kubernetes' grammar refuses, each with random names so no two requests are alike. */
const BAD_SELECTORS: (() => string)[] = [
  () => `${word()} in (${word()}`,
  () => `${word()} notin ${word()}`,
  () => `!${word()}=${word()}`,
  () => `(${word()})`,
  () => `${word()}=${word()},,${word()}`,
  () => `${'k'.repeat(64)}${word()}=v`,
  () => `${word()}=${word()}=${word()}`,
];

interface BadRequest {
  kind: string;
  /** The status the user must see. */
  expect: number;
  /**
   * The server answers oversized headers with 431 and closes while the rest of them is still
   * arriving; the kernel then resets the connection and the client may get the reset instead of
   * the 431. Accepted for that kind only.
   */
  orReset?: boolean;
  path: string;
  method?: string;
  headers?: Record<string, string>;
  /** Sent without a client certificate. */
  anonymous?: boolean;
  /** Written as raw bytes on a TLS connection, past the HTTP client's own checks. */
  raw?: string;
}

/** One of each kind of bad request, in proportions (weights) a fuzzer might send. */
const KINDS: { weight: number; make: () => BadRequest }[] = [
  { weight: 20, make: () => ({ kind: 'unknown path', expect: 404, path: `/apis/${word()}/${word(4)}/${word(12)}` }) },
  {
    weight: 5,
    make: () => ({ kind: 'unknown top-level path', expect: 404, path: `/${word(16)}?${word()}=${word()}` }),
  },
  {
    weight: 5,
    make: () => ({
      kind: 'unknown API version',
      expect: 404,
      path: `/apis/custom.metrics.k8s.io/v${word(6)}/namespaces/shop/pods/web-1/http_requests`,
    }),
  },
  {
    weight: 20,
    make: () => ({
      kind: 'malformed labelSelector',
      expect: 400,
      path: `${QUEUE_DEPTH}?labelSelector=${encodeURIComponent(pick(BAD_SELECTORS)())}`,
    }),
  },
  {
    weight: 5,
    make: () => ({
      kind: 'malformed fieldSelector or repeated parameter',
      expect: 400,
      path: pick([
        `${POD_REQUESTS}?fieldSelector=spec.${word()}%3D${word()}`,
        `${QUEUE_DEPTH}?labelSelector=a%3D${word()}&labelSelector=b%3D${word()}`,
      ]),
    }),
  },
  {
    weight: 10,
    make: () => ({
      kind: 'invalid namespace or object name',
      expect: 400,
      path: pick([
        `/apis/custom.metrics.k8s.io/v1beta2/namespaces/${word().toUpperCase()}/pods/web-1/http_requests`,
        `/apis/custom.metrics.k8s.io/v1beta2/namespaces/shop/pods/-${word()}-/http_requests`,
        `/apis/external.metrics.k8s.io/v1beta1/namespaces/${'n'.repeat(64)}${word()}/queue-depth`,
      ]),
    }),
  },
  {
    weight: 5,
    make: () => ({
      kind: 'malformed percent-encoding',
      expect: 400,
      path: `/apis/external.metrics.k8s.io/v1beta1/namespaces/%E0%A4${word(2)}%/queue-depth`,
    }),
  },
  {
    weight: 10,
    make: () => ({
      kind: 'well-formed read of a metric nobody serves',
      expect: 404,
      path: `/apis/external.metrics.k8s.io/v1beta1/namespaces/ns-${word()}/metric-${word()}`,
    }),
  },
  {
    weight: 5,
    make: () => ({
      kind: 'user without RBAC',
      expect: 403,
      path: QUEUE_DEPTH,
      headers: { 'X-Remote-User': `mallory-${word()}` },
    }),
  },
  {
    weight: 5,
    make: () => ({
      kind: 'write method',
      expect: 405,
      path: QUEUE_DEPTH,
      method: pick(['POST', 'PUT', 'DELETE', 'PATCH']),
    }),
  },
  {
    weight: 5,
    make: () => ({ kind: 'no credentials', expect: 401, path: `${QUEUE_DEPTH}?x=${word()}`, anonymous: true }),
  },
  {
    weight: 3,
    make: () => ({
      kind: 'URL longer than 8 KiB',
      expect: 400,
      path: `${QUEUE_DEPTH}?labelSelector=${'a'.repeat(9000 + Math.floor(Math.random() * 10_000))}%3Db`,
    }),
  },
  {
    weight: 1,
    make: () => ({
      kind: 'headers larger than 32 KiB',
      expect: 431,
      orReset: true,
      path: QUEUE_DEPTH,
      headers: { 'X-Junk': 'j'.repeat(40_000 + Math.floor(Math.random() * 20_000)) },
    }),
  },
  {
    weight: 1,
    make: () => ({
      kind: 'unparseable HTTP',
      expect: 400,
      path: '',
      raw: pick([`GET /${word()} ${word()} HTTP/1.1\r\n\r\n`, `${word()}\r\n\r\n`, `GET / HTTP/1.1\r\nHost\r\n\r\n`]),
    }),
  },
];

function makeRequest(): BadRequest {
  let roll = Math.random() * KINDS.reduce((sum, k) => sum + k.weight, 0);
  for (const kind of KINDS) {
    roll -= kind.weight;
    if (roll < 0) return kind.make();
  }
  return (KINDS[0] as (typeof KINDS)[number]).make();
}

const cluster = startedForFile(() =>
  startClusterHarness({ config: CONFIG, env: { NODE_OPTIONS: `--max-old-space-size=${HEAP_LIMIT_MB}` } }),
);

describe('a flood of distinct bad requests', () => {
  it('answers each with its 4xx, keeps memory bounded and still serves the HPA afterwards', async (t) => {
    const port = cluster.adapter.port;
    const ca = cluster.servingCa.cert;
    const aggregator = new Agent({
      keepAlive: true,
      maxSockets: CONCURRENCY,
      ca,
      cert: cluster.proxyClient.chain,
      key: cluster.proxyClient.key,
    });
    const anonymous = new Agent({ keepAlive: true, maxSockets: 4, ca });
    const send = (bad: BadRequest): Promise<Outcome> =>
      bad.raw !== undefined
        ? sendRaw(port, ca, bad.raw).then((status) => ({ status, text: '' }))
        : sendHttp(port, bad, bad.anonymous ? anonymous : aggregator);
    const rss = async () => {
      const answer = await adapterRequest(port, '/metrics', { ca });
      return sampleOf(answer.text, 'hpa_metrics_adapter_process_resident_memory_bytes') ?? Number.NaN;
    };

    const healthy = await cluster.asAggregator(`${QUEUE_DEPTH}?labelSelector=queue%3Djobs`);
    assert.equal(healthy.status, 200);
    const rssBefore = await rss();
    assert.ok(rssBefore > 0, 'the adapter reports its resident memory');
    let rssPeak = rssBefore;
    const sampler = setInterval(() => {
      rss().then(
        (now) => {
          rssPeak = Math.max(rssPeak, now);
        },
        () => {},
      );
    }, 1000);

    const byKind = new Map<string, Map<number | string, number>>();
    const wrong: string[] = [];
    let sent = 0;
    const started = Date.now();
    const worker = async () => {
      const more = () => {
        const elapsed = Date.now() - started;
        if (sent >= TOTAL || elapsed >= FLOOD_HARD_LIMIT_MS) return false;
        return elapsed < FLOOD_BUDGET_MS || sent < MIN_ANSWERED;
      };
      while (more()) {
        sent++;
        const bad = makeRequest();
        let outcome: Outcome;
        try {
          outcome = await send(bad);
        } catch (error) {
          outcome = { status: (error as NodeJS.ErrnoException).code ?? (error as Error).message, text: '' };
        }
        const counts = byKind.get(bad.kind) ?? new Map<number | string, number>();
        counts.set(outcome.status, (counts.get(outcome.status) ?? 0) + 1);
        byKind.set(bad.kind, counts);
        const reset = bad.orReset && (outcome.status === 'ECONNRESET' || outcome.status === 'EPIPE');
        if (outcome.status !== bad.expect && !reset && wrong.length < 20) {
          const what = bad.path.slice(0, 100) || JSON.stringify(bad.raw);
          wrong.push(`${bad.kind}: ${bad.method ?? 'GET'} ${what} → ${outcome.status} ${outcome.text.slice(0, 200)}`);
        }
      }
    };
    try {
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    } finally {
      clearInterval(sampler);
      aggregator.destroy();
      anonymous.destroy();
    }
    const seconds = (Date.now() - started) / 1000;
    const rssAfter = await rss();
    rssPeak = Math.max(rssPeak, rssAfter);

    const answered = [...byKind.values()].flatMap((counts) => [...counts.values()]).reduce((a, b) => a + b, 0);
    for (const [kind, counts] of [...byKind].sort()) {
      t.diagnostic(`${kind}: ${[...counts].map(([code, n]) => `${n}× ${code}`).join(', ')}`);
    }
    const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
    t.diagnostic(
      `${answered} bad requests in ${seconds.toFixed(1)} s (${Math.round(answered / seconds)}/s); ` +
        `RSS ${mib(rssBefore)} before, ${mib(rssPeak)} at most, ${mib(rssAfter)} after`,
    );

    // A hang-only bound: 1,000 answers within FLOOD_HARD_LIMIT_MS (45 s), not a throughput target.
    assert.ok(answered >= MIN_ANSWERED, `only ${answered} answered in ${seconds} s`);
    assert.deepEqual(wrong, [], 'every bad request gets the status its kind calls for');
    const statuses = new Set([...byKind.values()].flatMap((counts) => [...counts.keys()]));
    statuses.delete('ECONNRESET');
    statuses.delete('EPIPE');
    assert.deepEqual([...statuses].sort(), [400, 401, 403, 404, 405, 431]);
    assert.equal(byKind.size, KINDS.length, 'every kind of bad request was sent');
    assert.ok(rssPeak - rssBefore < MAX_RSS_GROWTH_BYTES, `RSS grew by ${mib(rssPeak - rssBefore)}`);

    assert.equal(cluster.adapter.child.exitCode, null, 'the process is alive');
    const external = await cluster.asAggregator(`${QUEUE_DEPTH}?labelSelector=queue%3Djobs`);
    assert.equal(external.status, 200, JSON.stringify(external.body));
    assert.equal(external.body.items[0].value, '42');
    const custom = await cluster.asAggregator(POD_REQUESTS);
    assert.equal(custom.status, 200, JSON.stringify(custom.body));
    assert.equal(custom.body.items[0].value, '12');
  });

  // Path segments as label values would let every made-up version add a series: memory, scrape size, cardinality.
  it('keeps /metrics the same size however many made-up API versions are asked for', async () => {
    const ca = cluster.servingCa.cert;
    const requestSeries = async () =>
      (await adapterRequest(cluster.adapter.port, '/metrics', { ca })).text
        .split('\n')
        .filter((line) => line.startsWith('hpa_metrics_adapter_requests_total{')).length;
    const before = await requestSeries();
    for (let i = 0; i < 100; i++) {
      const answer = await cluster.asAggregator(`/apis/custom.metrics.k8s.io/v${word(6)}/namespaces/shop/pods/web-1/x`);
      assert.equal(answer.status, 404);
    }
    const after = await requestSeries();
    assert.ok(after - before < 5, `100 made-up versions added ${after - before} series`);
  });
});

interface Outcome {
  /** The HTTP status, or the error code when no answer came. */
  status: number | string;
  text: string;
}

/** One request as the aggregator would send it (front-proxy certificate and X-Remote-* headers), unless anonymous. */
function sendHttp(port: number, bad: BadRequest, agent: Agent): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        path: bad.path,
        method: bad.method ?? 'GET',
        agent,
        timeout: 10_000,
        headers: { 'X-Remote-User': HPA_USER, 'X-Remote-Group': 'system:serviceaccounts', ...bad.headers },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (chunk: string) => {
          if (text.length < 1000) text += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('no answer within 10 s')));
    req.on('error', reject);
    req.end();
  });
}

/** Writes bytes no HTTP client would send and reads the status line the server answers with. */
function sendRaw(port: number, ca: string, bytes: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => socket.write(bytes));
    let text = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => {
      text += chunk;
    });
    socket.setTimeout(10_000, () => socket.destroy(new Error('no answer within 10 s')));
    socket.on('error', reject);
    socket.on('close', () => {
      const status = /^HTTP\/1\.1 (\d{3}) /.exec(text)?.[1];
      if (status) resolve(Number(status));
      else reject(new Error(`no HTTP status in ${JSON.stringify(text.slice(0, 100))}`));
    });
  });
}
