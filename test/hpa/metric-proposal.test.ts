import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  averageValueProposal,
  DEFAULT_TOLERANCES,
  externalTotalMilli,
  type MetricProposal,
  type PodState,
  podsMetricProposal,
  tolerancesOf,
  valueProposal,
} from '../../src/hpa/metric-proposal.js';
import { REPLICA_CALCULATOR_CASES, type ReplicaCalculatorCase } from './replica-calculator-cases.js';

function podsOf(c: ReplicaCalculatorCase): PodState[] {
  const count = Math.max(c.currentReplicas, c.podPhase?.length ?? 0);
  return Array.from({ length: count }, (_, i) => ({
    name: `test-pod-${i}`,
    phase: c.podPhase?.[i] ?? 'Running',
    ready: c.podReadiness?.[i] ?? true,
    deleting: false,
  }));
}

function proposalFor(c: ReplicaCalculatorCase): MetricProposal {
  const tolerances = c.tolerances ?? DEFAULT_TOLERANCES;
  const pods = podsOf(c);
  switch (c.metricType) {
    case 'pods':
      return podsMetricProposal({
        currentReplicas: c.currentReplicas,
        targetMilli: c.target,
        metricsMilli: new Map(c.levels.map((level, i) => [`test-pod-${i}`, level])),
        pods,
        tolerances,
      });
    case 'object':
      return valueProposal({
        currentReplicas: c.currentReplicas,
        targetMilli: c.target,
        valueMilli: c.levels[0] ?? 0,
        pods,
        tolerances,
      });
    case 'external':
      return valueProposal({
        currentReplicas: c.currentReplicas,
        targetMilli: c.target,
        valueMilli: externalTotalMilli(c.levels),
        pods,
        tolerances,
      });
    case 'objectPerPod':
      return averageValueProposal({
        statusReplicas: c.currentReplicas,
        targetMilli: c.target,
        valueMilli: c.levels[0] ?? 0,
        tolerances,
      });
    case 'externalPerPod':
      return averageValueProposal({
        statusReplicas: c.currentReplicas,
        targetMilli: c.target,
        valueMilli: externalTotalMilli(c.levels),
        tolerances,
      });
  }
}

describe('metric proposals match the controller on its own replica_calculator_test.go cases', () => {
  for (const c of REPLICA_CALCULATOR_CASES) {
    it(`${c.goTest}: ${c.expectedReplicas} replicas`, () => {
      const proposal = proposalFor(c);
      assert.ok(proposal.ok, proposal.ok ? '' : proposal.error);
      assert.equal(proposal.replicas, c.expectedReplicas);
      if (c.expectedUsage !== undefined) assert.equal(proposal.usageMilli, c.expectedUsage);
    });
  }
});

const running = (name: string, ready = true): PodState => ({ name, phase: 'Running', ready, deleting: false });

describe('metric proposal rules the Go cases above do not pin down', () => {
  it('counts only Pending pods as unready for a Pods metric, and drops what a Pending pod reports', () => {
    const proposal = podsMetricProposal({
      currentReplicas: 3,
      targetMilli: 15000,
      metricsMilli: new Map([
        ['p0', 60000],
        ['p1', 5000],
        ['p2', 5000],
      ]),
      pods: [{ name: 'p0', phase: 'Pending', ready: false, deleting: false }, running('p1', false), running('p2')],
      tolerances: DEFAULT_TOLERANCES,
    });
    assert.deepEqual(proposal, { ok: true, replicas: 1, usageMilli: 5000, rule: 'usage ratio × ready pods' });
  });

  it('ignores failed and terminating pods and what they report', () => {
    const proposal = podsMetricProposal({
      currentReplicas: 2,
      targetMilli: 1000,
      metricsMilli: new Map([
        ['a', 2000],
        ['b', 2000],
        ['gone', 0],
        ['dead', 0],
      ]),
      pods: [
        running('a'),
        running('b'),
        { name: 'gone', phase: 'Running', ready: true, deleting: true },
        { name: 'dead', phase: 'Failed', ready: false, deleting: false },
      ],
      tolerances: DEFAULT_TOLERANCES,
    });
    assert.ok(proposal.ok);
    assert.equal(proposal.replicas, 4);
  });

  it('fails a Pods metric when the selector matches no pods, as at zero replicas', () => {
    const proposal = podsMetricProposal({
      currentReplicas: 0,
      targetMilli: 1000,
      metricsMilli: new Map(),
      pods: [],
      tolerances: DEFAULT_TOLERANCES,
    });
    assert.deepEqual(proposal, { ok: false, error: 'no pods returned by selector while calculating replica count' });
  });

  it('wakes from zero on a Value target: ceil(value ÷ target), no pods needed', () => {
    const seven = valueProposal({
      currentReplicas: 0,
      targetMilli: 5000,
      valueMilli: 7000,
      pods: [],
      tolerances: DEFAULT_TOLERANCES,
    });
    assert.deepEqual(seven, { ok: true, replicas: 2, usageMilli: 7000, rule: 'from zero replicas: ceil(usage ratio)' });
    const empty = valueProposal({
      currentReplicas: 0,
      targetMilli: 5000,
      valueMilli: 0,
      pods: [],
      tolerances: DEFAULT_TOLERANCES,
    });
    assert.ok(empty.ok);
    assert.equal(empty.replicas, 0);
  });

  it('wakes from zero on an AverageValue target, where the ratio is infinite and never within tolerance', () => {
    const proposal = averageValueProposal({
      statusReplicas: 0,
      targetMilli: 10000,
      valueMilli: 70000,
      tolerances: DEFAULT_TOLERANCES,
    });
    assert.deepEqual(proposal, { ok: true, replicas: 7, usageMilli: 70000, rule: 'total ÷ target per pod' });
    const empty = averageValueProposal({
      statusReplicas: 0,
      targetMilli: 10000,
      valueMilli: 0,
      tolerances: DEFAULT_TOLERANCES,
    });
    assert.ok(empty.ok);
    assert.equal(empty.replicas, 0);
  });

  it('fails a Value target above zero replicas when no pods match, once outside tolerance', () => {
    const proposal = valueProposal({
      currentReplicas: 2,
      targetMilli: 1000,
      valueMilli: 5000,
      pods: [],
      tolerances: DEFAULT_TOLERANCES,
    });
    assert.equal(proposal.ok, false);
  });

  it('rejects a target that is not positive instead of dividing by it', () => {
    const proposal = averageValueProposal({
      statusReplicas: 2,
      targetMilli: 0,
      valueMilli: 5,
      tolerances: DEFAULT_TOLERANCES,
    });
    assert.deepEqual(proposal, { ok: false, error: 'the target must be a positive quantity' });
  });

  it('takes each direction’s tolerance from behavior, 0.1 where it says none', () => {
    assert.deepEqual(tolerancesOf({ scaleUp: { tolerance: 0.01 } }), { scaleDown: 0.1, scaleUp: 0.01 });
    assert.deepEqual(tolerancesOf(undefined), DEFAULT_TOLERANCES);
  });
});
