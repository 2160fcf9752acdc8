import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Registry } from 'prom-client';
import { METRIC_DEFINITIONS } from '../definitions/resource.js';
import type { DefinitionStates } from '../definitions/state.js';
import { type HpaSource, StatusWriter } from '../definitions/status-writer.js';
import { LeaseElector } from '../kube/lease-elector.js';
import { createLeaseStore } from '../kube/leases.js';
import { createStatusSubresource } from '../kube/status-subresource.js';
import type { KubeTransport } from '../kube/transport.js';
import type { Logger } from '../observability/logger.js';

/** The Lease that says which replica writes definition status (deploy/base/rbac-definition-status.yaml names it). */
export const STATUS_LEASE_NAME = 'hpa-metrics-adapter';
const SERVICE_ACCOUNT_NAMESPACE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

export interface LeaderElectionFlags {
  /** --leader-elect-resource-namespace; default the pod's own namespace (its service account's), else `default`. */
  leaderElectNamespace?: string;
  /** --leader-elect-lease-duration; the renew deadline is 2/3 of it and the retry period 2/15, as client-go's 15 s / 10 s / 2 s. */
  leaderElectLeaseDurationMs: number;
}

export interface DefinitionStatusDeps {
  transport: KubeTransport;
  states: DefinitionStates;
  hpas?: HpaSource;
  flags: LeaderElectionFlags;
  logger: Logger;
  registry: Registry;
}

export interface RunningDefinitionStatus {
  /** Stops writing and releases the Lease, so another replica writes at once. */
  close(): Promise<void>;
}

/** Leader election on the adapter's Lease and the status writer that acts only while this replica holds it. */
export function startDefinitionStatus(deps: DefinitionStatusDeps): RunningDefinitionStatus {
  const namespace = deps.flags.leaderElectNamespace ?? ownNamespace();
  const leaseDurationMs = deps.flags.leaderElectLeaseDurationMs;
  const elector = new LeaseElector({
    store: createLeaseStore(deps.transport, namespace, STATUS_LEASE_NAME),
    identity: `${hostname()}_${randomUUID()}`,
    logger: deps.logger,
    leaseDurationMs,
    renewDeadlineMs: (leaseDurationMs * 2) / 3,
    retryPeriodMs: (leaseDurationMs * 2) / 15,
  });
  const writer = new StatusWriter({
    inputs: deps.states,
    statuses: createStatusSubresource(deps.transport, METRIC_DEFINITIONS),
    leadership: elector,
    ...(deps.hpas ? { hpas: deps.hpas } : {}),
    logger: deps.logger,
    registry: deps.registry,
  });
  elector.start();
  return {
    async close() {
      await writer.close();
      await elector.stop();
    },
  };
}

function ownNamespace(): string {
  return existsSync(SERVICE_ACCOUNT_NAMESPACE) ? readFileSync(SERVICE_ACCOUNT_NAMESPACE, 'utf8').trim() : 'default';
}
