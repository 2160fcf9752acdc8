import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MetricProposal } from '../../src/hpa/metric-proposal.js';
import {
  type Behavior,
  combineProposals,
  decideReplicas,
  limitOneStep,
  type ScalingRules,
} from '../../src/hpa/replica-decision.js';

// generateScalingRules(pods, podsPeriod, percent, percentPeriod, stabilizationWindow) of
// horizontal_test.go: selectPolicy Max, a policy for each non-zero value.
function generateScalingRules(pods: number, podsPeriod: number, percent: number, percentPeriod: number): ScalingRules {
  return {
    selectPolicy: 'Max',
    policies: [
      ...(pods !== 0 ? [{ type: 'Pods' as const, value: pods, periodSeconds: podsPeriod }] : []),
      ...(percent !== 0 ? [{ type: 'Percent' as const, value: percent, periodSeconds: percentPeriod }] : []),
    ],
  };
}

interface StepCase {
  readonly goTest: string;
  readonly name: string;
  readonly current: number;
  readonly desired: number;
  readonly min: number;
  readonly max: number;
  readonly behavior?: Behavior;
  readonly expectedReplicas: number;
  readonly expectedReason: string;
}

// kubernetes/kubernetes pkg/controller/podautoscaler/horizontal_test.go: the cases of
// TestConvertDesiredReplicasWithRules (no spec.behavior) and those of TestScalingWithRules that
// have no past scale events (spec.behavior with the rules given, API defaults for the other).
const STEP_CASES: readonly StepCase[] = [
  {
    goTest: 'TestConvertDesiredReplicasWithRules',
    name: 'prenormalized desired replicas within range',
    current: 5,
    desired: 7,
    min: 3,
    max: 8,
    expectedReplicas: 7,
    expectedReason: 'DesiredWithinRange',
  },
  {
    goTest: 'TestConvertDesiredReplicasWithRules',
    name: 'prenormalized desired replicas < minReplicas',
    current: 3,
    desired: 1,
    min: 2,
    max: 8,
    expectedReplicas: 2,
    expectedReason: 'TooFewReplicas',
  },
  {
    goTest: 'TestConvertDesiredReplicasWithRules',
    name: 'prenormalized desired replicas within range (min 0)',
    current: 1,
    desired: 0,
    min: 0,
    max: 10,
    expectedReplicas: 0,
    expectedReason: 'DesiredWithinRange',
  },
  {
    goTest: 'TestConvertDesiredReplicasWithRules',
    name: 'maxReplicas is the limit because maxReplicas < scaleUpLimit',
    current: 20,
    desired: 1000,
    min: 1,
    max: 10,
    expectedReplicas: 10,
    expectedReason: 'TooManyReplicas',
  },
  {
    goTest: 'TestConvertDesiredReplicasWithRules',
    name: 'scaleUpLimit is the limit because scaleUpLimit < maxReplicas',
    current: 3,
    desired: 1000,
    min: 1,
    max: 2000,
    expectedReplicas: 6,
    expectedReason: 'ScaleUpLimit',
  },
  {
    goTest: 'TestScalingWithRules',
    name: 'prenormalized desired replicas within range',
    current: 5,
    desired: 7,
    min: 3,
    max: 8,
    behavior: {},
    expectedReplicas: 7,
    expectedReason: 'DesiredWithinRange',
  },
  {
    goTest: 'TestScalingWithRules',
    name: 'prenormalized desired replicas < minReplicas',
    current: 3,
    desired: 1,
    min: 2,
    max: 8,
    behavior: {},
    expectedReplicas: 2,
    expectedReason: 'TooFewReplicas',
  },
  {
    goTest: 'TestScalingWithRules',
    name: 'prenormalized desired replicas within range when minReplicas is 0',
    current: 1,
    desired: 0,
    min: 0,
    max: 10,
    behavior: {},
    expectedReplicas: 0,
    expectedReason: 'DesiredWithinRange',
  },
  {
    goTest: 'TestScalingWithRules',
    name: 'maxReplicas is the limit because maxReplicas < scaleUpLimit',
    current: 20,
    desired: 1000,
    min: 1,
    max: 10,
    behavior: {},
    expectedReplicas: 10,
    expectedReason: 'TooManyReplicas',
  },
  {
    goTest: 'TestScalingWithRules',
    name: 'desired replica count is more than the maximum replica count',
    current: 100,
    desired: 1000,
    min: 100,
    max: 150,
    behavior: {},
    expectedReplicas: 150,
    expectedReason: 'TooManyReplicas',
  },
  {
    goTest: 'TestScalingWithRules',
    name: 'scaleUpLimit is the limit because scaleUpLimit < maxReplicas with user policies',
    current: 3,
    desired: 1000,
    min: 1,
    max: 2000,
    behavior: { scaleUp: generateScalingRules(0, 0, 1, 60) },
    expectedReplicas: 4,
    expectedReason: 'ScaleUpLimit',
  },
  {
    goTest: 'TestScalingWithRules',
    name: 'scaleDownLimit is the limit because scaleDownLimit > minReplicas with user defined policies',
    current: 1000,
    desired: 3,
    min: 3,
    max: 2000,
    behavior: { scaleDown: generateScalingRules(20, 60, 0, 0) },
    expectedReplicas: 980,
    expectedReason: 'ScaleDownLimit',
  },
  {
    goTest: 'TestScalingWithRules',
    name: 'scaleUp with default behavior',
    current: 10,
    desired: 50,
    min: 1,
    max: 1000,
    behavior: {},
    expectedReplicas: 20,
    expectedReason: 'ScaleUpLimit',
  },
  {
    goTest: 'TestScalingWithRules',
    name: 'scaleUp with pods policy larger than percent policy',
    current: 10,
    desired: 500,
    min: 1,
    max: 1000,
    behavior: { scaleUp: generateScalingRules(100, 60, 100, 60) },
    expectedReplicas: 110,
    expectedReason: 'ScaleUpLimit',
  },
  {
    goTest: 'TestScalingWithRules',
    name: 'scaleUp with percent policy larger than pods policy',
    current: 10,
    desired: 500,
    min: 1,
    max: 1000,
    behavior: { scaleUp: generateScalingRules(2, 60, 100, 60) },
    expectedReplicas: 20,
    expectedReason: 'ScaleUpLimit',
  },
  {
    goTest: 'TestScalingWithRules',
    name: 'scaleUp with spec MaxReplicas limitation with large pod policy',
    current: 10,
    desired: 50,
    min: 1,
    max: 1000,
    behavior: { scaleUp: generateScalingRules(100, 60, 0, 0) },
    expectedReplicas: 50,
    expectedReason: 'DesiredWithinRange',
  },
  {
    goTest: 'TestScalingWithRules',
    name: 'scaleUp with spec MaxReplicas limitation with large percent policy',
    current: 10,
    desired: 50,
    min: 1,
    max: 1000,
    behavior: { scaleUp: generateScalingRules(10000, 60, 0, 0) },
    expectedReplicas: 50,
    expectedReason: 'DesiredWithinRange',
  },
  {
    goTest: 'TestScalingWithRules',
    name: 'scaleUp with pod policy limitation',
    current: 10,
    desired: 50,
    min: 1,
    max: 1000,
    behavior: { scaleUp: generateScalingRules(30, 60, 0, 0) },
    expectedReplicas: 40,
    expectedReason: 'ScaleUpLimit',
  },
  {
    goTest: 'TestScalingWithRules',
    name: 'scaleUp with percent policy limitation',
    current: 10,
    desired: 50,
    min: 1,
    max: 1000,
    behavior: { scaleUp: generateScalingRules(0, 0, 200, 60) },
    expectedReplicas: 30,
    expectedReason: 'ScaleUpLimit',
  },
  {
    goTest: 'TestScalingWithRules',
    name: 'scaleDown with percent policy larger than pod policy',
    current: 100,
    desired: 2,
    min: 1,
    max: 1000,
    behavior: { scaleDown: generateScalingRules(20, 60, 1, 60) },
    expectedReplicas: 80,
    expectedReason: 'ScaleDownLimit',
  },
  {
    goTest: 'TestScalingWithRules',
    name: 'scaleDown with pod policy larger than percent policy',
    current: 100,
    desired: 2,
    min: 1,
    max: 1000,
    behavior: { scaleDown: generateScalingRules(2, 60, 1, 60) },
    expectedReplicas: 98,
    expectedReason: 'ScaleDownLimit',
  },
  {
    goTest: 'TestScalingWithRules',
    name: 'scaleDown with spec MinReplicas limitation with large pod policy',
    current: 10,
    desired: 0,
    min: 1,
    max: 1000,
    behavior: { scaleDown: generateScalingRules(100, 60, 0, 0) },
    expectedReplicas: 1,
    expectedReason: 'TooFewReplicas',
  },
  {
    goTest: 'TestScalingWithRules',
    name: 'scaleDown with spec MinReplicas limitation with large percent policy',
    current: 10,
    desired: 2,
    min: 5,
    max: 1000,
    behavior: { scaleDown: generateScalingRules(0, 0, 100, 60) },
    expectedReplicas: 5,
    expectedReason: 'TooFewReplicas',
  },
  {
    goTest: 'TestScalingWithRules',
    name: 'scaleDown with pod policy limitation',
    current: 10,
    desired: 2,
    min: 1,
    max: 1000,
    behavior: { scaleDown: generateScalingRules(5, 60, 0, 0) },
    expectedReplicas: 5,
    expectedReason: 'ScaleDownLimit',
  },
  {
    goTest: 'TestScalingWithRules',
    name: 'scaleDown with percent policy limitation',
    current: 10,
    desired: 5,
    min: 1,
    max: 1000,
    behavior: { scaleDown: generateScalingRules(0, 0, 50, 60) },
    expectedReplicas: 5,
    expectedReason: 'DesiredWithinRange',
  },
  {
    goTest: 'TestCalculateScaleUpLimitWithScalingRules',
    name: 'selectPolicy Min takes the smaller of 1+2 pods and 1×150%',
    current: 1,
    desired: 100,
    min: 1,
    max: 1000,
    behavior: {
      scaleUp: {
        selectPolicy: 'Min',
        policies: [
          { type: 'Pods', value: 2, periodSeconds: 60 },
          { type: 'Percent', value: 50, periodSeconds: 60 },
        ],
      },
    },
    expectedReplicas: 2,
    expectedReason: 'ScaleUpLimit',
  },
  {
    goTest: 'TestCalculateScaleDownLimitWithBehaviors',
    name: 'selectPolicy Min removes the fewer of 2 pods and 50%',
    current: 5,
    desired: 0,
    min: 0,
    max: 1000,
    behavior: {
      scaleDown: {
        selectPolicy: 'Min',
        policies: [
          { type: 'Pods', value: 2, periodSeconds: 60 },
          { type: 'Percent', value: 50, periodSeconds: 60 },
        ],
      },
    },
    expectedReplicas: 3,
    expectedReason: 'ScaleDownLimit',
  },
];

describe('one step’s limits match the controller on its own horizontal_test.go cases', () => {
  for (const c of STEP_CASES) {
    it(`${c.goTest}: ${c.name}`, () => {
      const step = limitOneStep({
        current: c.current,
        desired: c.desired,
        min: c.min,
        max: c.max,
        behavior: c.behavior,
      });
      assert.equal(step.replicas, c.expectedReplicas);
      assert.equal(step.reason, c.expectedReason);
    });
  }
});

const proposes = (replicas: number): MetricProposal => ({
  ok: true,
  replicas,
  usageMilli: 0,
  rule: 'usage ratio × ready pods',
});
const fails: MetricProposal = { ok: false, error: 'unable to get external metric default/queue: 503' };

describe('combining the metrics’ proposals', () => {
  it('takes the largest proposal and names its metric', () => {
    const combined = combineProposals(
      [
        { metric: 'a', proposal: proposes(3) },
        { metric: 'b', proposal: proposes(6) },
        { metric: 'c', proposal: proposes(6) },
      ],
      4,
    );
    assert.deepEqual(combined, { ok: true, replicas: 6, decidingMetric: 'b', failedMetrics: 0 });
  });

  it('scales up on the metrics that answered while another fails', () => {
    const combined = combineProposals(
      [
        { metric: 'a', proposal: fails },
        { metric: 'b', proposal: proposes(6) },
      ],
      4,
    );
    assert.deepEqual(combined, { ok: true, replicas: 6, decidingMetric: 'b', failedMetrics: 1 });
  });

  it('does not scale down while a metric fails, and names the first failure', () => {
    const decision = decideReplicas({
      specReplicas: 4,
      minReplicas: 1,
      maxReplicas: 10,
      proposals: [
        { metric: 'a', proposal: fails },
        { metric: 'b', proposal: proposes(2) },
      ],
    });
    assert.equal(decision.replicas, 4);
    assert.equal(decision.reason, 'FailedGetMetrics');
    assert.match(decision.message, /^a: unable to get external metric/);
  });

  it('keeps the count when every metric fails', () => {
    const decision = decideReplicas({
      specReplicas: 0,
      minReplicas: 0,
      maxReplicas: 10,
      proposals: [{ metric: 'queue', proposal: fails }],
    });
    assert.equal(decision.replicas, 0);
    assert.equal(decision.reason, 'FailedGetMetrics');
  });
});

describe('deciding the replica count', () => {
  it('leaves a target at zero alone when minReplicas is not 0', () => {
    const decision = decideReplicas({
      specReplicas: 0,
      minReplicas: 1,
      maxReplicas: 10,
      proposals: [{ metric: 'q', proposal: proposes(5) }],
    });
    assert.deepEqual([decision.replicas, decision.reason], [0, 'ScalingDisabled']);
  });

  it('wakes a pool from zero by at most 4 in one step, with or without spec.behavior', () => {
    const proposals = [{ metric: 'q', proposal: proposes(7) }];
    const plain = decideReplicas({ specReplicas: 0, minReplicas: 0, maxReplicas: 10, proposals });
    const defaulted = decideReplicas({ specReplicas: 0, minReplicas: 0, maxReplicas: 10, behavior: {}, proposals });
    assert.deepEqual([plain.replicas, plain.reason], [4, 'ScaleUpLimit']);
    assert.deepEqual([defaulted.replicas, defaulted.reason], [4, 'ScaleUpLimit']);
  });

  it('brings the count into [minReplicas, maxReplicas] before looking at metrics', () => {
    const proposals = [{ metric: 'q', proposal: proposes(7) }];
    assert.equal(
      decideReplicas({ specReplicas: 12, minReplicas: 1, maxReplicas: 10, proposals }).reason,
      'AboveMaxReplicas',
    );
    assert.equal(decideReplicas({ specReplicas: 1, minReplicas: 2, maxReplicas: 10, proposals }).replicas, 2);
  });

  it('scales to zero when the metrics propose it and minReplicas is 0', () => {
    const decision = decideReplicas({
      specReplicas: 3,
      minReplicas: 0,
      maxReplicas: 10,
      proposals: [{ metric: 'q', proposal: proposes(0) }],
    });
    assert.deepEqual([decision.replicas, decision.reason], [0, 'DesiredWithinRange']);
  });

  it('a disabled scale-down direction keeps the count', () => {
    const decision = decideReplicas({
      specReplicas: 5,
      minReplicas: 1,
      maxReplicas: 10,
      behavior: { scaleDown: { selectPolicy: 'Disabled' } },
      proposals: [{ metric: 'q', proposal: proposes(1) }],
    });
    assert.deepEqual([decision.replicas, decision.reason], [5, 'ScaleDownLimit']);
  });
});
