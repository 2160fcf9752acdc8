import assert from 'node:assert/strict';
import { Agent, request as httpsRequest } from 'node:https';
import { after, before, describe, it } from 'node:test';
import { type AdapterProcess, startAdapter } from '../support/adapter-process.js';
import { type CertDir, createCertDir, type IssuedCert, issueServingCert, type TestCa } from '../support/certs.js';
import { type RoundRobinProxy, startRoundRobinProxy } from '../support/round-robin-proxy.js';

/**
 * A rolling restart as a Deployment with two replicas does it, seen by the HPA: two adapter
 * processes behind a Service (the round-robin proxy, which follows /readyz as the endpoints
 * controller and kube-proxy do), steady HPA-like load over keep-alive and fresh connections,
 * and each replica in turn gets SIGTERM (with the preStop-like --shutdown-delay-seconds), exits
 * and is started again on its port. Not one request may fail.
 */

/**
 * Long enough for the Service to unroute the replica and for a read straight to it to be answered
 * within the delay on a loaded 2-core machine (with 1 s, a TLS handshake there could miss it).
 */
const DELAY_SECONDS = 3;
/**
 * Far above the few hundred ms a drain with nothing to wait for takes, however loaded the machine:
 * a drain that waited for idle keep-alive connections would take all of it and fail the exit-time
 * check.
 */
const GRACE_SECONDS = 30;
/** Each replica is terminated this many times, one replica at a time. */
const ROUNDS = 1;
const REQUESTS_PER_SECOND = 80;
/** Every FRESH_EVERY-th request opens a new connection; the rest share a keep-alive pool. */
const FRESH_EVERY = 4;
const POOL_SOCKETS = 4;
/** More than the test's 120 s can send: only a runaway is cut off, never the steady load. */
const MAX_REQUESTS = 12_000;
/** The aggregator's own budget for a request is longer; a loaded machine answered in 5+ s at times. */
const REQUEST_TIMEOUT_MS = 30_000;

/** What the HPA controller reads every sync period, with the value the demo config serves. */
const READS = [
  {
    path: '/apis/external.metrics.k8s.io/v1beta1/namespaces/default/demo-queue-depth?labelSelector=queue%3Djobs',
    value: '42',
  },
  { path: '/apis/custom.metrics.k8s.io/v1beta2/namespaces/default/pods/demo-1/demo_requests_per_second', value: '10' },
];

interface LoadReport {
  sent: number;
  ok: number;
  keepAlive: number;
  fresh: number;
  /**
   * Requests sent again because a pooled keep-alive connection was closed by the server just as
   * they were written, before any byte of an answer: Go's transport (the aggregator's) and Node's
   * documented `req.reusedSocket` pattern retry exactly these, so the HPA never sees them.
   */
  retriedOnClosedIdleConnection: number;
  failures: string[];
}

interface Load {
  stop(): Promise<LoadReport>;
}

function startLoad(port: number, ca: string): Load {
  const pool = new Agent({ keepAlive: true, maxSockets: POOL_SOCKETS, scheduling: 'fifo', ca });
  const report: LoadReport = { sent: 0, ok: 0, keepAlive: 0, fresh: 0, retriedOnClosedIdleConnection: 0, failures: [] };
  const pending = new Set<Promise<void>>();

  const once = (path: string, agent: Agent | false) =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = httpsRequest(
        {
          host: '127.0.0.1',
          port,
          path,
          agent,
          ca,
          timeout: REQUEST_TIMEOUT_MS,
          headers: { accept: 'application/json' },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (chunk: string) => {
            text += chunk;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)));
      req.on('error', (error: NodeJS.ErrnoException) => {
        const closedIdle = req.reusedSocket && (error.code === 'ECONNRESET' || error.code === 'EPIPE');
        reject(Object.assign(error, { closedIdle }));
      });
      req.end();
    });

  const send = async (n: number) => {
    const read = READS[n % READS.length] as (typeof READS)[number];
    const fresh = n % FRESH_EVERY === 0;
    if (fresh) report.fresh++;
    else report.keepAlive++;
    const agent = fresh ? false : pool;
    try {
      let answer: { status: number; text: string };
      try {
        answer = await once(read.path, agent);
      } catch (error) {
        if (!(error as { closedIdle?: boolean }).closedIdle) throw error;
        report.retriedOnClosedIdleConnection++;
        answer = await once(read.path, agent);
      }
      const value = answer.status === 200 ? JSON.parse(answer.text).items?.[0]?.value : undefined;
      if (value === read.value) report.ok++;
      else report.failures.push(`#${n} ${read.path}: ${answer.status} ${answer.text.slice(0, 200)}`);
    } catch (error) {
      report.failures.push(`#${n} ${read.path} (${fresh ? 'fresh' : 'keep-alive'}): ${(error as Error).message}`);
    }
  };

  // Timers slip on a busy machine: each tick sends whatever is due, so the rate holds.
  const startedAt = Date.now();
  const timer = setInterval(() => {
    const due = Math.min(MAX_REQUESTS, Math.floor(((Date.now() - startedAt) / 1000) * REQUESTS_PER_SECOND));
    while (report.sent < due) {
      const sending = send(report.sent++);
      pending.add(sending);
      void sending.finally(() => pending.delete(sending));
    }
  }, 10);

  return {
    async stop() {
      clearInterval(timer);
      await Promise.all(pending);
      pool.destroy();
      return report;
    },
  };
}

/** One read straight to a replica, past the Service. */
function getDirect(port: number, ca: string): Promise<{ status: number; connection: string | undefined }> {
  const read = READS[0] as (typeof READS)[number];
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      { host: '127.0.0.1', port, path: read.path, ca, agent: false, timeout: REQUEST_TIMEOUT_MS },
      (res) => {
        res.resume();
        resolve({ status: res.statusCode ?? 0, connection: res.headers.connection });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end();
  });
}

describe('rolling restart of two replicas behind a Service', () => {
  let certs: CertDir;
  let ca: TestCa;
  let serving: IssuedCert;
  const replicas: AdapterProcess[] = [];
  let proxy: RoundRobinProxy;

  const startReplica = (port = 0) =>
    startAdapter({
      args: [
        `--secure-port=${port}`,
        `--tls-cert-file=${serving.certPath}`,
        `--tls-private-key-file=${serving.keyPath}`,
        `--shutdown-delay-seconds=${DELAY_SECONDS}`,
        `--shutdown-grace-seconds=${GRACE_SECONDS}`,
      ],
    });

  before(async () => {
    certs = await createCertDir('e2e-ha-');
    ca = await certs.createCa('adapter-serving-ca');
    serving = await issueServingCert(ca);
    replicas.push(...(await Promise.all([startReplica(), startReplica()])));
    proxy = await startRoundRobinProxy({ backends: replicas.map((r) => r.port), readiness: { ca: ca.cert } });
    for (const replica of replicas) await proxy.waitForReadiness(replica.port, true);
  });

  after(async () => {
    await proxy?.close();
    await Promise.all(replicas.map((r) => r.stop()));
    await certs?.cleanup();
  });

  it('serves every request while each replica is terminated and replaced, twice', async (t) => {
    const started = Date.now();
    const load = startLoad(proxy.port, ca.cert);
    let report: LoadReport | undefined;
    let loadSeconds = 0;
    try {
      await new Promise((r) => setTimeout(r, 1000));
      for (let round = 0; round < ROUNDS; round++) {
        for (const [index, replica] of replicas.entries()) {
          const backend = proxy.backends[index];
          assert.ok(backend);
          const openAtSignal = backend.open;
          const signalledAt = Date.now();
          replica.child.kill('SIGTERM');
          await proxy.waitForReadiness(replica.port, false, DELAY_SECONDS * 1000);
          const unroutedAfter = Date.now() - signalledAt;
          const direct = await getDirect(replica.port, ca.cert);
          assert.equal(
            direct.status,
            200,
            'still serving through the delay, for clients routed before endpoints moved',
          );
          assert.equal(direct.connection, 'close', 'tells keep-alive clients to reconnect (to a ready replica)');
          const code = await Promise.race([
            replica.exited,
            new Promise((r) => setTimeout(() => r('still running'), (DELAY_SECONDS + GRACE_SECONDS) * 1000 + 5000)),
          ]);
          const tookMs = Date.now() - signalledAt;
          assert.equal(code, 0, `replica ${index} exit code`);
          assert.ok(openAtSignal > 0, `replica ${index} had connections to drain`);
          assert.ok(tookMs >= DELAY_SECONDS * 1000, `replica ${index} exited after ${tookMs} ms, before the delay`);
          assert.ok(
            tookMs < (DELAY_SECONDS + GRACE_SECONDS) * 1000,
            `replica ${index} exited after ${tookMs} ms, beyond the grace period`,
          );
          assert.ok(
            !replica.logs.some((l) => l.msg === 'grace period ended with requests still running; they were cut'),
          );

          const restarted = await startReplica(replica.port);
          replicas[index] = restarted;
          await proxy.waitForReadiness(restarted.port, true, 30_000);
          const routedAtRestart = backend.routed;
          const routedBy = Date.now() + 30_000;
          while (backend.routed === routedAtRestart && Date.now() < routedBy)
            await new Promise((r) => setTimeout(r, 20));
          assert.ok(backend.routed > routedAtRestart, `replica ${index} gets new connections once ready again`);
          t.diagnostic(
            `round ${round + 1}, replica ${index}: ${openAtSignal} connections open at SIGTERM, ` +
              `unrouted ${unroutedAfter} ms after SIGTERM, exit 0 after ${tookMs} ms`,
          );
        }
      }
    } finally {
      // The rate is judged over the time requests were being sent, not while the last are awaited.
      loadSeconds = (Date.now() - started) / 1000;
      report = await load.stop();
    }
    const seconds = loadSeconds;
    t.diagnostic(
      `${report.sent} requests in ${seconds.toFixed(1)} s (${report.keepAlive} keep-alive, ${report.fresh} fresh connections): ` +
        `${report.ok} ok, ${report.failures.length} failed, ${report.retriedOnClosedIdleConnection} resent after a closed idle connection; ` +
        `connections routed per replica: ${proxy.backends.map((b) => b.routed).join(', ')}; refused by the Service: ${proxy.refused}`,
    );
    assert.deepEqual(report.failures, []);
    assert.equal(proxy.refused, 0);
    assert.equal(report.ok, report.sent);
    assert.ok(
      report.sent >= seconds * REQUESTS_PER_SECOND * 0.7,
      `steady load: ${report.sent} requests in ${seconds} s`,
    );
    // Responses close their connection once shutdown starts, so the pool rarely holds one the
    // drain closes under it; a resend per termination is the most the race can explain.
    assert.ok(
      report.retriedOnClosedIdleConnection <= ROUNDS * replicas.length,
      `${report.retriedOnClosedIdleConnection} requests met a keep-alive connection closed under them`,
    );
  });
});
