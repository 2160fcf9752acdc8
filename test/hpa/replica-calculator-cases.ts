// The cases of kubernetes/kubernetes pkg/controller/podautoscaler/replica_calculator_test.go that
// concern Object, Pods and External metrics, transcribed as data (values in milli-units, as there).
// The Go harness lists `currentReplicas` pods named test-pod-N, Running and Ready unless
// podReadiness/podPhase say otherwise (more pods when podPhase is longer), and gives pod N the
// N-th level; an Object metric answers levels[0], an External metric one item per level.

import type { PodState } from '../../src/hpa/metric-proposal.js';

export type CaseMetricType = 'pods' | 'object' | 'objectPerPod' | 'external' | 'externalPerPod';

export interface ReplicaCalculatorCase {
  /** The Go test function the case is transcribed from. */
  readonly goTest: string;
  readonly metricType: CaseMetricType;
  readonly currentReplicas: number;
  readonly levels: readonly number[];
  /** targetUsage, or perPodTargetUsage for the per-pod types. */
  readonly target: number;
  /** Tolerances{scaleDown, scaleUp}; 0.1 both ways when absent. */
  readonly tolerances?: { readonly scaleDown: number; readonly scaleUp: number };
  readonly podReadiness?: readonly boolean[];
  readonly podPhase?: readonly PodState['phase'][];
  readonly expectedReplicas: number;
  /** expectedUsage; absent where it is an int64 a JS number cannot hold exactly. */
  readonly expectedUsage?: number;
}

const MAX_INT64_APPROX = 2 ** 63;
const MAX_INT32 = 2 ** 31 - 1;

export const REPLICA_CALCULATOR_CASES: readonly ReplicaCalculatorCase[] = [
  {
    goTest: 'TestReplicaCalcScaleUpOverflow',
    metricType: 'object',
    currentReplicas: 3,
    levels: [MAX_INT64_APPROX],
    target: 1,
    expectedReplicas: MAX_INT32,
  },
  {
    goTest: 'TestExternalPerPodMetricReplicaOverflow',
    metricType: 'externalPerPod',
    currentReplicas: 1,
    levels: [MAX_INT64_APPROX],
    target: 1,
    expectedReplicas: MAX_INT32,
  },
  {
    goTest: 'TestExternalPerPodMetricUsageOverflow',
    metricType: 'externalPerPod',
    currentReplicas: 1,
    levels: [MAX_INT64_APPROX],
    target: MAX_INT64_APPROX,
    expectedReplicas: 1,
  },
  {
    goTest: 'TestReplicaCalcScaleUpCM',
    metricType: 'pods',
    currentReplicas: 3,
    levels: [20000, 10000, 30000],
    target: 15000,
    expectedReplicas: 4,
    expectedUsage: 20000,
  },
  {
    goTest: 'TestReplicaCalcScaleUpCMUnreadyHotCpuNoLessScale',
    metricType: 'pods',
    currentReplicas: 3,
    podReadiness: [true, true, false],
    levels: [50000, 10000, 30000],
    target: 15000,
    expectedReplicas: 6,
    expectedUsage: 30000,
  },
  {
    goTest: 'TestReplicaCalcScaleUpCMUnreadyHotCpuScaleWouldScaleDown',
    metricType: 'pods',
    currentReplicas: 3,
    podReadiness: [false, true, false],
    levels: [50000, 15000, 30000],
    target: 15000,
    expectedReplicas: 7,
    expectedUsage: 31666,
  },
  {
    goTest: 'TestReplicaCalcScaleUpCMObject',
    metricType: 'object',
    currentReplicas: 3,
    levels: [20000],
    target: 15000,
    expectedReplicas: 4,
    expectedUsage: 20000,
  },
  {
    goTest: 'TestReplicaCalcScaleUpCMPerPodObject',
    metricType: 'objectPerPod',
    currentReplicas: 3,
    levels: [20000],
    target: 5000,
    expectedReplicas: 4,
    expectedUsage: 6667,
  },
  {
    goTest: 'TestReplicaCalcScaleUpCMObjectIgnoresUnreadyPods',
    metricType: 'object',
    currentReplicas: 3,
    podReadiness: [false, true, false],
    levels: [50000],
    target: 10000,
    expectedReplicas: 5,
    expectedUsage: 50000,
  },
  {
    goTest: 'TestReplicaCalcScaleUpCMExternalIgnoresUnreadyPods',
    metricType: 'external',
    currentReplicas: 3,
    podReadiness: [false, true, false],
    levels: [8600],
    target: 4400,
    expectedReplicas: 2,
    expectedUsage: 8600,
  },
  {
    goTest: 'TestReplicaCalcScaleUpPerPodCMExternal',
    metricType: 'externalPerPod',
    currentReplicas: 3,
    levels: [8600],
    target: 2150,
    expectedReplicas: 4,
    expectedUsage: 2867,
  },
  {
    goTest: 'TestReplicaCalcScaleDownCM',
    metricType: 'pods',
    currentReplicas: 5,
    levels: [12000, 12000, 12000, 12000, 12000],
    target: 20000,
    expectedReplicas: 3,
    expectedUsage: 12000,
  },
  {
    goTest: 'TestReplicaCalcScaleDownPerPodCMObject',
    metricType: 'objectPerPod',
    currentReplicas: 5,
    levels: [6000],
    target: 2000,
    expectedReplicas: 3,
    expectedUsage: 1200,
  },
  {
    goTest: 'TestReplicaCalcScaleDownCMObject',
    metricType: 'object',
    currentReplicas: 5,
    levels: [12000],
    target: 20000,
    expectedReplicas: 3,
    expectedUsage: 12000,
  },
  {
    goTest: 'TestReplicaCalcScaleDownCMExternal',
    metricType: 'external',
    currentReplicas: 5,
    levels: [8600],
    target: 14334,
    expectedReplicas: 3,
    expectedUsage: 8600,
  },
  {
    goTest: 'TestReplicaCalcScaleDownPerPodCMExternal',
    metricType: 'externalPerPod',
    currentReplicas: 5,
    levels: [8600],
    target: 2867,
    expectedReplicas: 3,
    expectedUsage: 1720,
  },
  {
    goTest: 'TestReplicaCalcToleranceCM',
    metricType: 'pods',
    currentReplicas: 3,
    levels: [20000, 21000, 21000],
    target: 20000,
    expectedReplicas: 3,
    expectedUsage: 20666,
  },
  {
    goTest: 'TestReplicaCalcToleranceCMObject',
    metricType: 'object',
    currentReplicas: 3,
    levels: [20666],
    target: 20000,
    expectedReplicas: 3,
    expectedUsage: 20666,
  },
  {
    goTest: 'TestReplicaCalcTolerancePerPodCMObject',
    metricType: 'objectPerPod',
    currentReplicas: 4,
    levels: [20166],
    target: 5000,
    expectedReplicas: 4,
    expectedUsage: 5042,
  },
  {
    goTest: 'TestReplicaCalcToleranceCMExternal',
    metricType: 'external',
    currentReplicas: 3,
    levels: [8600],
    target: 8888,
    expectedReplicas: 3,
    expectedUsage: 8600,
  },
  {
    goTest: 'TestReplicaCalcTolerancePerPodCMExternal',
    metricType: 'externalPerPod',
    currentReplicas: 3,
    levels: [8600],
    target: 2900,
    expectedReplicas: 3,
    expectedUsage: 2867,
  },
  {
    goTest: 'TestReplicaCalcConfigurableToleranceCM',
    metricType: 'pods',
    tolerances: { scaleDown: 0.1, scaleUp: 0.01 },
    currentReplicas: 3,
    levels: [20000, 21000, 21000],
    target: 20000,
    expectedReplicas: 4,
    expectedUsage: 20666,
  },
  {
    goTest: 'TestReplicaCalcConfigurableToleranceCMObject',
    metricType: 'object',
    tolerances: { scaleDown: 0.1, scaleUp: 0.01 },
    currentReplicas: 3,
    levels: [20666],
    target: 20000,
    expectedReplicas: 4,
    expectedUsage: 20666,
  },
  {
    goTest: 'TestReplicaCalcConfigurableTolerancePerPodCMObject',
    metricType: 'objectPerPod',
    tolerances: { scaleDown: 0.1, scaleUp: 0.01 },
    currentReplicas: 4,
    levels: [20208],
    target: 5000,
    expectedReplicas: 5,
    expectedUsage: 5052,
  },
  {
    goTest: 'TestReplicaCalcConfigurableToleranceCMExternal',
    metricType: 'external',
    tolerances: { scaleDown: 0.1, scaleUp: 0.01 },
    currentReplicas: 3,
    levels: [8900],
    target: 8800,
    expectedReplicas: 4,
    expectedUsage: 8900,
  },
  {
    goTest: 'TestReplicaCalcConfigurableTolerancePerPodCMExternal',
    metricType: 'externalPerPod',
    tolerances: { scaleDown: 0.1, scaleUp: 0.01 },
    currentReplicas: 3,
    levels: [8600],
    target: 2800,
    expectedReplicas: 4,
    expectedUsage: 2867,
  },
  {
    goTest: 'TestPlainMetricReplicaCalcMissingMetricsNoChangeEq',
    metricType: 'pods',
    currentReplicas: 5,
    levels: [20000, 19000, 21000],
    target: 20000,
    expectedReplicas: 5,
    expectedUsage: 20000,
  },
  {
    goTest: 'TestReplicaCalcDuringRollingUpdateWithMaxSurgeCM',
    metricType: 'pods',
    currentReplicas: 2,
    podPhase: ['Running', 'Running', 'Running'],
    levels: [10000, 10000],
    target: 17000,
    expectedReplicas: 2,
    expectedUsage: 10000,
  },
];
