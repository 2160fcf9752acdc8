import type { Registry } from 'prom-client';
import { METRIC_DEFINITIONS } from '../definitions/resource.js';
import type { DefinitionStates } from '../definitions/state.js';
import { type HpaSource, StatusWriter } from '../definitions/status-writer.js';
import type { LeaseElector } from '../kube/lease-elector.js';
import { createStatusSubresource } from '../kube/status-subresource.js';
import type { KubeTransport } from '../kube/transport.js';
import type { Logger } from '../observability/logger.js';

export interface DefinitionStatusDeps {
  transport: KubeTransport;
  states: DefinitionStates;
  hpas?: HpaSource;
  /** The process's candidate for the Lease (startup/leader-election.ts): status is written while it leads. */
  elector: LeaseElector;
  logger: Logger;
  registry: Registry;
}

export interface RunningDefinitionStatus {
  /** Stops writing (releasing the Lease, so another replica writes at once, is the elector's stop()). */
  close(): Promise<void>;
}

/** The status writer, acting only while this replica holds the Lease. */
export function startDefinitionStatus(deps: DefinitionStatusDeps): RunningDefinitionStatus {
  const writer = new StatusWriter({
    inputs: deps.states,
    statuses: createStatusSubresource(deps.transport, METRIC_DEFINITIONS),
    leadership: deps.elector,
    ...(deps.hpas ? { hpas: deps.hpas } : {}),
    logger: deps.logger,
    registry: deps.registry,
  });
  return {
    async close() {
      await writer.close();
    },
  };
}
