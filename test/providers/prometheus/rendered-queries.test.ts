import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { memoKey, RenderedQueries } from '../../../src/providers/prometheus/rendered-queries.js';

describe('RenderedQueries', () => {
  it('renders a key once, and again after clear()', () => {
    const memo = new RenderedQueries<string>();
    let renders = 0;
    const render = () => `q${++renders}`;
    assert.equal(memo.get('a', render), 'q1');
    assert.equal(memo.get('a', render), 'q1');
    memo.clear();
    assert.equal(memo.get('a', render), 'q2');
  });

  it('stays within maxEntries by starting afresh when full', () => {
    const memo = new RenderedQueries<number>(3);
    for (let i = 0; i < 3; i++) memo.get(`k${i}`, () => i);
    assert.equal(
      memo.get('k0', () => -1),
      0,
    );
    assert.equal(
      memo.get('k3', () => 3),
      3,
    );
    assert.equal(
      memo.get('k0', () => -1),
      -1,
      'the fourth key emptied the memo',
    );
  });

  it('keys that differ in any part differ, also when parts would run together', () => {
    assert.notEqual(memoKey('ab', 'c'), memoKey('a', 'bc'));
    assert.notEqual(memoKey('a', undefined, 'b'), memoKey('a', 'b', undefined));
    assert.equal(memoKey('m', 'ns', 'app=web'), memoKey('m', 'ns', 'app=web'));
  });
});
