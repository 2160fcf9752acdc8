import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { IssuedCert } from './certs.js';

/**
 * A metrics server that behaves as KEDA's does behind its external.metrics.k8s.io APIService:
 * its discovery lists only the placeholder `externalmetrics`, it serves names like
 * `s0-rabbitmq-orders` that it never announces, answers unknown ones with its own Status, and
 * accepts only bearer tokens it knows. Every request is recorded with its headers, and its
 * behaviour can be switched to slow, garbage, forbidden or down for fault tests.
 */
export interface KedaLikeServer {
  url: string;
  port: number;
  /** External metric name → value (a Kubernetes quantity) served in any namespace. */
  values: Map<string, string>;
  /** Names its discovery lists beside the placeholder (KEDA lists none). */
  announced: string[];
  /** Tokens it accepts; any other gets 401. */
  tokens: Set<string>;
  requests: { path: string; headers: IncomingHttpHeaders }[];
  /** TLS connections accepted, to see whether the adapter keeps them alive. */
  connections: number;
  mode: 'ok' | 'garbage' | 'forbidden' | 'huge';
  delayMs: number;
  /** down: stop listening and cut connections; up: listen again on the same port. */
  setDown(down: boolean): Promise<void>;
  close(): Promise<void>;
}

const GROUP_VERSION = 'external.metrics.k8s.io/v1beta1';

export async function startKedaLikeServer(serving: IssuedCert, tokens: string[]): Promise<KedaLikeServer> {
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'https://keda');
    double.requests.push({ path: req.url ?? '', headers: req.headers });
    if (double.delayMs > 0) await new Promise((r) => setTimeout(r, double.delayMs));
    if (res.destroyed) return;
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (!token || !double.tokens.has(token)) return status(res, 401, 'Unauthorized', 'Unauthorized');
    if (double.mode === 'forbidden') {
      return status(res, 403, 'Forbidden', `external metrics are forbidden to this user: ${url.pathname}`);
    }
    if (double.mode === 'garbage') {
      res.writeHead(502, { 'Content-Type': 'text/html' });
      res.end('<html><body>502 Bad Gateway</body></html>');
      return;
    }
    if (double.mode === 'huge') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      const chunk = Buffer.alloc(1024 * 1024, 0x20);
      for (let i = 0; i < 64 && !res.destroyed; i++) res.write(chunk);
      res.end();
      return;
    }
    if (url.pathname === `/apis/${GROUP_VERSION}`) {
      return json(res, 200, {
        kind: 'APIResourceList',
        apiVersion: 'v1',
        groupVersion: GROUP_VERSION,
        resources: [
          ...['externalmetrics', ...double.announced].map((name) => ({
            name,
            singularName: '',
            namespaced: true,
            kind: 'ExternalMetricValueList',
            verbs: ['get'],
          })),
        ],
      });
    }
    const match = /^\/apis\/external\.metrics\.k8s\.io\/v1beta1\/namespaces\/([^/]+)\/([^/]+)$/.exec(url.pathname);
    if (!match) return status(res, 404, 'NotFound', 'the server could not find the requested resource');
    const [, namespace, metric] = match as unknown as [string, string, string];
    const value = double.values.get(metric);
    if (value === undefined) {
      return status(
        res,
        404,
        'NotFound',
        `unable to get metric ${metric}: no ScaledObject in namespace ${namespace} uses it`,
      );
    }
    return json(res, 200, {
      kind: 'ExternalMetricValueList',
      apiVersion: GROUP_VERSION,
      metadata: {},
      items: [{ metricName: metric, metricLabels: null, timestamp: '2026-01-01T00:00:00Z', value }],
    });
  };

  const server: Server = createServer({ cert: serving.chain, key: serving.key }, (req, res) => void handle(req, res));
  server.on('secureConnection', () => {
    double.connections++;
  });
  await listen(server, 0);
  const port = (server.address() as AddressInfo).port;
  const double: KedaLikeServer = {
    url: `https://127.0.0.1:${port}`,
    port,
    values: new Map(),
    announced: [],
    tokens: new Set(tokens),
    requests: [],
    connections: 0,
    mode: 'ok',
    delayMs: 0,
    async setDown(down) {
      if (down) {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
      } else {
        await listen(server, port);
      }
    },
    async close() {
      if (!server.listening) return;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
  return double;
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function json(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function status(res: ServerResponse, code: number, reason: string, message: string): void {
  json(res, code, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
}
