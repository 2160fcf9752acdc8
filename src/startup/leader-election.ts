import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { LeaseElector } from '../kube/lease-elector.js';
import { createLeaseStore } from '../kube/leases.js';
import type { KubeTransport } from '../kube/transport.js';
import type { Logger } from '../observability/logger.js';

/**
 * The Lease whose holder does what one replica at a time does: write definition status, and with
 * `--hpa-refresh=leader` refresh the reads HPAs make (deploy/base/rbac-definition-status.yaml names it).
 */
export const STATUS_LEASE_NAME = 'hpa-metrics-adapter';
const SERVICE_ACCOUNT_NAMESPACE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

export interface LeaderElectionFlags {
  /** --leader-elect-resource-namespace; default the pod's own namespace (its service account's), else `default`. */
  leaderElectNamespace?: string;
  /** --leader-elect-lease-duration; the renew deadline is 2/3 of it and the retry period 2/15, as client-go's 15 s / 10 s / 2 s. */
  leaderElectLeaseDurationMs: number;
}

/** This process's one candidate for the Lease, contending from now on; stop() releases it. */
export function startLeaderElection(
  transport: KubeTransport,
  flags: LeaderElectionFlags,
  logger: Logger,
): LeaseElector {
  const namespace = flags.leaderElectNamespace ?? ownNamespace();
  const leaseDurationMs = flags.leaderElectLeaseDurationMs;
  const elector = new LeaseElector({
    store: createLeaseStore(transport, namespace, STATUS_LEASE_NAME),
    identity: `${hostname()}_${randomUUID()}`,
    logger,
    leaseDurationMs,
    renewDeadlineMs: (leaseDurationMs * 2) / 3,
    retryPeriodMs: (leaseDurationMs * 2) / 15,
  });
  elector.start();
  return elector;
}

function ownNamespace(): string {
  return existsSync(SERVICE_ACCOUNT_NAMESPACE) ? readFileSync(SERVICE_ACCOUNT_NAMESPACE, 'utf8').trim() : 'default';
}
