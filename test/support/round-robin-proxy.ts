import { request as httpsRequest } from 'node:https';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';

/**
 * A TCP proxy on loopback playing a Kubernetes Service in front of backends, for end-to-end
 * tests of what users see while things break:
 *
 * - Round robin over the backends that are *ready*: with `readiness`, each backend's readiness
 *   path is polled over HTTPS and new connections go only to backends that answered 200 last
 *   time, as kube-proxy does once the endpoints controller drops a pod. Connections already
 *   open stay where they are, as they do in a cluster.
 * - Faults, for a single backend standing in for Prometheus or an API: `responseDelayMs` holds
 *   every byte coming back by that long (a slow backend), `setDown(true)` stops listening and
 *   cuts every connection (connection refused, as when the backend's pod is gone).
 *
 * Every connection is counted, so tests can assert "no pile-up of sockets".
 */
export interface ReadinessProbe {
  /** Default `/readyz`. */
  path?: string;
  /** Default 100 ms. */
  intervalMs?: number;
  /** The CA that signed the backends' serving certificate; unverified when absent. */
  ca?: string;
  /** A probe slower than this counts as a failure. Default 1000 ms. */
  timeoutMs?: number;
}

export interface ProxyOptions {
  /** Backend ports on 127.0.0.1. */
  backends: readonly number[];
  /** Without it every backend counts as ready. */
  readiness?: ReadinessProbe;
}

export interface BackendState {
  port: number;
  ready: boolean;
  /** Connections routed to this backend so far. */
  routed: number;
  /** Of those, the ones still open. */
  open: number;
  /** Readiness transitions, oldest first. */
  transitions: { at: number; ready: boolean }[];
}

export interface RoundRobinProxy {
  port: number;
  /** `http://127.0.0.1:<port>`, for backends spoken to over plain HTTP. */
  url: string;
  backends: readonly BackendState[];
  /** Client connections refused because no backend was ready. */
  refused: number;
  /** Connections open right now, over every backend. */
  openConnections(): number;
  /** Most connections open at once since the last resetPeak(). */
  peakOpenConnections(): number;
  resetPeak(): void;
  /** Bytes from backends to clients are held this long (0: none). Applies to connections already open too. */
  responseDelayMs: number;
  /** down: stop listening and cut every open connection; up: listen again on the same port. */
  setDown(down: boolean): Promise<void>;
  /** Resolves once the backend on `port` has the given readiness; rejects after `timeoutMs`. */
  waitForReadiness(port: number, ready: boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startRoundRobinProxy(options: ProxyOptions): Promise<RoundRobinProxy> {
  const backends: BackendState[] = options.backends.map((port) => ({
    port,
    ready: options.readiness === undefined,
    routed: 0,
    open: 0,
    transitions: [],
  }));
  const pairs = new Set<{ client: Socket; upstream: Socket }>();
  let next = 0;
  let peak = 0;
  let closed = false;

  const proxy = {
    port: 0,
    url: '',
    backends,
    refused: 0,
    responseDelayMs: 0,
    openConnections: () => pairs.size,
    peakOpenConnections: () => peak,
    resetPeak() {
      peak = pairs.size;
    },
  };

  const pick = (): BackendState | undefined => {
    const ready = backends.filter((b) => b.ready);
    if (ready.length === 0) return undefined;
    next = (next + 1) % ready.length;
    return ready[next];
  };

  const server: Server = createServer((client) => {
    const backend = pick();
    if (!backend) {
      proxy.refused++;
      client.destroy();
      return;
    }
    backend.routed++;
    backend.open++;
    const upstream = tcpConnect({ host: '127.0.0.1', port: backend.port });
    const pair = { client, upstream };
    pairs.add(pair);
    peak = Math.max(peak, pairs.size);
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      pairs.delete(pair);
      backend.open--;
      client.destroy();
      upstream.destroy();
    };
    const toClient = delayedWriter(
      () => proxy.responseDelayMs,
      () => done,
    );
    client.on('data', (chunk) => upstream.write(chunk));
    client.on('end', () => upstream.end());
    upstream.on('data', (chunk) => toClient(() => client.write(chunk)));
    upstream.on('end', () => toClient(() => client.end()));
    for (const socket of [client, upstream]) {
      socket.on('error', finish);
      socket.on('close', finish);
    }
  });

  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  await listen(0);
  const address = server.address();
  proxy.port = typeof address === 'object' && address ? address.port : 0;
  proxy.url = `http://127.0.0.1:${proxy.port}`;

  const probeTimer = options.readiness ? startProbing(backends, options.readiness, () => closed) : undefined;

  const cutAll = () => {
    for (const { client, upstream } of [...pairs]) {
      client.destroy();
      upstream.destroy();
    }
  };

  return Object.assign(proxy, {
    async setDown(down: boolean) {
      if (down && server.listening) {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        cutAll();
        await stopped;
      } else if (!down && !server.listening) {
        await listen(proxy.port);
      }
    },
    async waitForReadiness(port: number, ready: boolean, timeoutMs = 10_000) {
      const backend = backends.find((b) => b.port === port);
      if (!backend) throw new Error(`no backend on port ${port}`);
      const deadline = Date.now() + timeoutMs;
      while (backend.ready !== ready) {
        if (Date.now() > deadline)
          throw new Error(`backend ${port} not ${ready ? 'ready' : 'unready'} after ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    async close() {
      closed = true;
      clearInterval(probeTimer);
      cutAll();
      if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
}

/**
 * Runs each action `delayMs()` after it was queued, strictly in order (a chunk queued after the
 * delay dropped to 0 still waits for the ones before it), and drops them once `cancelled()`.
 */
function delayedWriter(delayMs: () => number, cancelled: () => boolean): (action: () => void) => void {
  const queue: { at: number; action: () => void }[] = [];
  let timer: NodeJS.Timeout | undefined;
  const drain = () => {
    timer = undefined;
    while (queue.length > 0 && (queue[0]?.at ?? 0) <= Date.now()) {
      const head = queue.shift();
      if (head && !cancelled()) head.action();
    }
    const head = queue[0];
    if (head) timer = setTimeout(drain, Math.max(0, head.at - Date.now()));
  };
  return (action) => {
    if (queue.length === 0 && delayMs() <= 0) return action();
    queue.push({ at: Date.now() + delayMs(), action });
    if (timer === undefined) drain();
  };
}

function startProbing(backends: BackendState[], probe: ReadinessProbe, stopped: () => boolean): NodeJS.Timeout {
  const path = probe.path ?? '/readyz';
  const timeoutMs = probe.timeoutMs ?? 1000;
  const busy = new Set<BackendState>();
  const record = (backend: BackendState, ready: boolean) => {
    if (stopped() || backend.ready === ready) return;
    backend.ready = ready;
    backend.transitions.push({ at: Date.now(), ready });
  };
  const check = (backend: BackendState) => {
    if (busy.has(backend)) return;
    busy.add(backend);
    let settled = false;
    const settle = (ready: boolean) => {
      if (settled) return;
      settled = true;
      busy.delete(backend);
      record(backend, ready);
    };
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port: backend.port,
        path,
        agent: false,
        timeout: timeoutMs,
        ...(probe.ca ? { ca: probe.ca } : { rejectUnauthorized: false }),
      },
      (res) => {
        res.resume();
        settle(res.statusCode === 200);
      },
    );
    req.on('timeout', () => req.destroy(new Error('readiness probe timed out')));
    req.on('error', () => settle(false));
    req.end();
  };
  const timer = setInterval(() => {
    for (const backend of backends) check(backend);
  }, probe.intervalMs ?? 100);
  for (const backend of backends) check(backend);
  return timer;
}
