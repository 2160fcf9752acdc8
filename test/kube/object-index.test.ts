import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSelector } from '../../src/api/selector.js';
import { ObjectIndex } from '../../src/kube/object-index.js';
import type { ObjectSummary } from '../../src/kube/types.js';

const SELECTORS = [
  '',
  'app=web',
  'app==web,tier=front',
  'app in (web,db)',
  'app in (web,db),tier notin (front)',
  'app!=web',
  '!tier',
  'tier',
  'app=nothing',
  'app=web,app=db',
];

/** A small deterministic generator, so a failure reproduces. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

describe('ObjectIndex', () => {
  it('answers every selector as a scan of the live objects would, through random creates, relabels and deletes', () => {
    const next = random(7);
    const pick = <T>(values: readonly T[]): T => values[Math.floor(next() * values.length)] as T;
    const index = new ObjectIndex();
    const live = new Map<string, ObjectSummary>();
    for (let step = 0; step < 3000; step++) {
      const namespace = pick(['a', 'b', 'c']);
      const name = `pod-${Math.floor(next() * 60)}`;
      const key = `${namespace}/${name}`;
      if (next() < 0.25) {
        index.remove(namespace, name);
        live.delete(key);
      } else {
        const labels: Record<string, string> = { app: pick(['web', 'db', 'cache']) };
        if (next() < 0.5) labels.tier = pick(['front', 'back']);
        const object = { namespace, name, labels };
        index.upsert(object);
        live.set(key, object);
      }
      if (step % 100 !== 0) continue;
      assert.equal(index.size, live.size);
      for (const text of SELECTORS) {
        const selector = parseSelector(text);
        for (const scope of ['a', 'b', undefined]) {
          const expected = [...live.values()]
            .filter((o) => (scope === undefined || o.namespace === scope) && selector.matches(o.labels))
            .map((o) => `${o.namespace}/${o.name}`)
            .sort();
          const got = index.select(scope, selector).map((o) => `${o.namespace}/${o.name}`);
          assert.deepEqual(got, expected, `selector "${text}" in ${scope ?? 'every namespace'} at step ${step}`);
        }
      }
    }
  });

  it('replace() starts over, and root-scoped objects live under no namespace', () => {
    const index = new ObjectIndex();
    index.upsert({ namespace: 'a', name: 'x', labels: { app: 'web' } });
    index.replace([{ name: 'node-1', labels: { zone: 'a' } }]);
    assert.equal(index.size, 1);
    assert.deepEqual(index.select(undefined, parseSelector('zone=a')), [{ name: 'node-1', labels: { zone: 'a' } }]);
    assert.deepEqual(index.select('a', parseSelector('')), []);
  });

  it("moves a namespace's generation only when an object there is added, removed or relabelled", () => {
    const index = new ObjectIndex();
    index.upsert({ namespace: 'a', name: 'x', labels: { app: 'web' } });
    const a = index.generation('a');
    const b = index.generation('b');
    const all = index.generation(undefined);
    index.upsert({ namespace: 'a', name: 'x', labels: { app: 'web' } });
    assert.equal(index.generation('a'), a, 'a status-only MODIFIED changes nothing the index holds');
    assert.equal(index.generation(undefined), all);
    index.upsert({ namespace: 'b', name: 'y', labels: { app: 'web' } });
    assert.equal(index.generation('a'), a);
    assert.notEqual(index.generation('b'), b);
    index.upsert({ namespace: 'a', name: 'x', labels: { app: 'web', tier: 'front' } });
    assert.notEqual(index.generation('a'), a);
    const relabelled = index.generation('a');
    index.remove('a', 'x');
    assert.notEqual(index.generation('a'), relabelled);
    const removed = index.generation('a');
    index.replace([]);
    assert.notEqual(index.generation('a'), removed, 'a relist moves every namespace');
    assert.notEqual(index.generation(undefined), all);
  });

  it('hands out frozen summaries, so no caller can change what the index holds', () => {
    const index = new ObjectIndex();
    index.upsert({ namespace: 'a', name: 'x', labels: { app: 'web' } });
    const [object] = index.select('a', parseSelector('app=web'));
    assert.ok(object && Object.isFrozen(object) && Object.isFrozen(object.labels));
  });
});
