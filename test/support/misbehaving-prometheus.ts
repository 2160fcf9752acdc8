import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A Prometheus HTTP API on loopback that answers what a test tells it to, including what a real
 * Prometheus never sends (or a broken proxy in front of one does): bodies of hundreds of MB,
 * samples with impossible timestamps or unparsable values. Series discovery always finds
 * `queue_depth{namespace="default",queue="jobs"}`.
 */
export type QueryAnswer =
  | { kind: 'value'; value: string; timestamp?: number }
  /** A raw `[timestamp, value]` pair as JSON text, for malformed samples. */
  | { kind: 'raw-point'; point: string }
  /** A success envelope streamed until `bytes` were written, or the client went away. */
  | { kind: 'huge'; bytes: number }
  /** A success with no series: the query has no data. */
  | { kind: 'empty' }
  /** A valid vector of as many series as fit in `bytes`, each ~`seriesBytes` long, sent chunked. */
  | { kind: 'many-series'; bytes: number; seriesBytes: number };

export interface MisbehavingPrometheus {
  url: string;
  answer: QueryAnswer;
  /** How long each query waits before it is answered. */
  delayMs: number;
  /**
   * Holds every query that arrives from now on (as if Prometheus were stuck) until the returned
   * function is called: a test can then look at the adapter while its queries are in flight,
   * whatever the machine's speed.
   */
  hold(): () => void;
  /** Bytes written into huge answers so far, queries received, and the most answered at once. */
  readonly stats: { hugeBytesWritten: number; queries: number; peakConcurrentQueries: number };
  close(): Promise<void>;
}

const SERIES = JSON.stringify({
  status: 'success',
  data: [{ __name__: 'queue_depth', namespace: 'default', queue: 'jobs' }],
});

const CHUNK = Buffer.alloc(1024 * 1024, 'x');

export async function startMisbehavingPrometheus(): Promise<MisbehavingPrometheus> {
  const stats = { hugeBytesWritten: 0, queries: 0, peakConcurrentQueries: 0 };
  const state: { answer: QueryAnswer; delayMs: number } = { answer: { kind: 'value', value: '42' }, delayMs: 0 };
  let concurrent = 0;
  let held: Promise<void> | undefined;
  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path.endsWith('/api/v1/series') || (state.delayMs === 0 && !held)) return answer(req, res);
    concurrent++;
    stats.peakConcurrentQueries = Math.max(stats.peakConcurrentQueries, concurrent);
    const waited = held ?? new Promise((resolve) => setTimeout(resolve, state.delayMs));
    void waited.then(() => {
      concurrent--;
      if (!res.destroyed) answer(req, res);
    });
  });
  const answer = (req: http.IncomingMessage, res: http.ServerResponse) => {
    req.resume();
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path.endsWith('/api/v1/series')) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(SERIES);
      return;
    }
    stats.queries++;
    const wanted = state.answer;
    if (wanted.kind === 'huge') {
      streamHuge(res, wanted.bytes, stats);
      return;
    }
    if (wanted.kind === 'many-series') {
      streamChunked(res, manySeries(wanted.bytes, wanted.seriesBytes));
      return;
    }
    if (wanted.kind === 'empty') {
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end('{"status":"success","data":{"resultType":"vector","result":[]}}');
      return;
    }
    const point =
      wanted.kind === 'raw-point'
        ? wanted.point
        : JSON.stringify([wanted.timestamp ?? Date.now() / 1000, wanted.value]);
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(
        `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"queue":"jobs"},"value":${point}}]}}`,
      );
  };
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get answer() {
      return state.answer;
    },
    set answer(next) {
      state.answer = next;
    },
    get delayMs() {
      return state.delayMs;
    },
    set delayMs(ms) {
      state.delayMs = ms;
    },
    hold() {
      let release = () => {};
      held = new Promise<void>((resolve) => {
        release = resolve;
      });
      return () => {
        held = undefined;
        release();
      };
    },
    stats,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Writes a vector answer whose label value never ends, with backpressure, until `bytes` or the client leaves. */
function streamHuge(res: http.ServerResponse, bytes: number, stats: { hugeBytesWritten: number }): void {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.write('{"status":"success","data":{"resultType":"vector","result":[{"metric":{"queue":"');
  let written = 0;
  const pump = () => {
    while (written < bytes && !res.destroyed) {
      written += CHUNK.length;
      stats.hugeBytesWritten += CHUNK.length;
      if (!res.write(CHUNK)) {
        res.once('drain', pump);
        return;
      }
    }
    if (!res.destroyed) res.end('"},"value":[1,"1"]}]}}');
  };
  res.on('close', () => res.removeAllListeners('drain'));
  pump();
}

const manySeriesBodies = new Map<string, Buffer>();

/** A vector answer of about `bytes`, made once per size and kept (several tests read it at once). */
function manySeries(bytes: number, seriesBytes: number): Buffer {
  const key = `${bytes}/${seriesBytes}`;
  const cached = manySeriesBodies.get(key);
  if (cached) return cached;
  const now = Math.floor(Date.now() / 1000);
  const filler = 'x'.repeat(Math.max(0, seriesBytes - 90));
  const series: string[] = [];
  let size = 0;
  for (let i = 0; size < bytes - 200; i++) {
    const one = `{"metric":{"queue":"jobs","pod":"pod-${i}-${filler}"},"value":[${now},"1"]}`;
    series.push(one);
    size += one.length + 1;
  }
  const body = Buffer.from(`{"status":"success","data":{"resultType":"vector","result":[${series.join(',')}]}}`);
  manySeriesBodies.set(key, body);
  return body;
}

/** Writes `body` in 1 MiB chunks with backpressure and no Content-Length, as Prometheus sends large answers. */
function streamChunked(res: http.ServerResponse, body: Buffer): void {
  res.writeHead(200, { 'content-type': 'application/json' });
  let offset = 0;
  const pump = () => {
    while (offset < body.length && !res.destroyed) {
      const chunk = body.subarray(offset, offset + CHUNK.length);
      offset += chunk.length;
      if (!res.write(chunk)) {
        res.once('drain', pump);
        return;
      }
    }
    if (!res.destroyed) res.end();
  };
  res.on('close', () => res.removeAllListeners('drain'));
  pump();
}
