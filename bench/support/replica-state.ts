import type { Agent } from 'node:https';
import { httpsGet, sumSamples } from './adapter.js';
import type { ServerProcess } from './processes.js';

/** What an adapter replica's /metrics say about its HPA-aware refresh and its series discovery. */
export interface ReplicaState {
  /** With --hpa-refresh=leader: whether it holds the Lease and refreshes. */
  leading: boolean;
  /** HPAs whose reads it keeps fresh (0 with refresh off or not yet listed). */
  hpas: number;
  /** External metrics its Prometheus discovery announces (0: every external poll is a 404). */
  externalMetrics: number;
}

export async function replicaState(replica: ServerProcess, agent: Agent): Promise<ReplicaState> {
  const { body } = await httpsGet(`https://127.0.0.1:${replica.port}/metrics`, agent);
  return {
    leading: sumSamples(body, 'hpa_metrics_adapter_hpa_refresh_leading') === 1,
    hpas: sumSamples(body, 'hpa_metrics_adapter_hpa_refresh_hpas'),
    externalMetrics: sumSamples(body, 'hpa_metrics_adapter_prometheus_announced_metrics', { api: 'external' }),
  };
}

/**
 * Waits until `check` holds, asking every 250 ms for at most `timeoutMs`; the ms it took, or
 * throws naming `what` (a bench that polls a replica not yet able to answer measures nothing).
 */
export async function waitFor(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<number> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return Date.now() - started;
}

/** The replica's warm-up as it logged it before it became ready (main.ts): warm, or ready anyway after --hpa-refresh-warmup. */
export interface WarmUp {
  warm: boolean;
  hpas: number;
  ms: number;
}

export function warmUpOf(replica: ServerProcess): WarmUp | undefined {
  for (const line of replica.output) {
    try {
      const entry = JSON.parse(line) as { msg?: unknown; warm?: unknown; hpas?: unknown; ms?: unknown };
      if (typeof entry.warm === 'boolean' && String(entry.msg).startsWith('HPA reads'))
        return { warm: entry.warm, hpas: Number(entry.hpas), ms: Number(entry.ms) };
    } catch {
      // Not a log line.
    }
  }
  return undefined;
}
