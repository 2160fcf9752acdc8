import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ApiError } from '../../src/api/errors.js';
import {
  MAX_SELECTOR_LENGTH,
  MAX_SELECTOR_REQUIREMENTS,
  MAX_SELECTOR_SET_VALUES,
  parseSelector,
  type Requirement,
  selectorFromMatchLabels,
  toMatchLabelsSelector,
} from '../../src/api/selector.js';

function assertBadRequest(action: () => unknown, message: string): void {
  assert.throws(action, (error: unknown) => {
    assert.ok(error instanceof ApiError, `expected an ApiError, got ${String(error)}`);
    assert.equal(error.reason, 'BadRequest');
    assert.equal(error.code, 400);
    assert.equal(error.message, message);
    return true;
  });
}

describe('parseSelector accepts the Kubernetes grammar', () => {
  const cases: [text: string, canonical: string, requirements: Requirement[]][] = [
    ['', '', []],
    ['  \t\r\n ', '', []],
    ['app=web', 'app=web', [{ key: 'app', operator: 'Equals', values: ['web'] }]],
    ['app==web', 'app=web', [{ key: 'app', operator: 'Equals', values: ['web'] }]],
    ['app!=web', 'app!=web', [{ key: 'app', operator: 'NotEquals', values: ['web'] }]],
    ['app=', 'app=', [{ key: 'app', operator: 'Equals', values: [''] }]],
    ['app!=', 'app!=', [{ key: 'app', operator: 'NotEquals', values: [''] }]],
    ['tier in (b,a)', 'tier in (a,b)', [{ key: 'tier', operator: 'In', values: ['a', 'b'] }]],
    ['tier notin (x)', 'tier notin (x)', [{ key: 'tier', operator: 'NotIn', values: ['x'] }]],
    ['tier in (a,a,b)', 'tier in (a,b)', [{ key: 'tier', operator: 'In', values: ['a', 'b'] }]],
    ['tier in ()', 'tier in ()', [{ key: 'tier', operator: 'In', values: [''] }]],
    ['tier in (,)', 'tier in ()', [{ key: 'tier', operator: 'In', values: [''] }]],
    ['tier in (,x)', 'tier in (,x)', [{ key: 'tier', operator: 'In', values: ['', 'x'] }]],
    ['tier in (x,)', 'tier in (,x)', [{ key: 'tier', operator: 'In', values: ['', 'x'] }]],
    ['tier in (x,,y)', 'tier in (,x,y)', [{ key: 'tier', operator: 'In', values: ['', 'x', 'y'] }]],
    ['tier in (,,x)', 'tier in (,x)', [{ key: 'tier', operator: 'In', values: ['', 'x'] }]],
    ['tier in (x,,,)', 'tier in (,x)', [{ key: 'tier', operator: 'In', values: ['', 'x'] }]],
    ['canary', 'canary', [{ key: 'canary', operator: 'Exists', values: [] }]],
    ['!canary', '!canary', [{ key: 'canary', operator: 'DoesNotExist', values: [] }]],
    ['! canary', '!canary', [{ key: 'canary', operator: 'DoesNotExist', values: [] }]],
    ['replicas>3', 'replicas>3', [{ key: 'replicas', operator: 'GreaterThan', values: ['3'] }]],
    ['replicas<10', 'replicas<10', [{ key: 'replicas', operator: 'LessThan', values: ['10'] }]],
    ['replicas > 007', 'replicas>007', [{ key: 'replicas', operator: 'GreaterThan', values: ['007'] }]],
    ['in in (in,notin)', 'in in (in,notin)', [{ key: 'in', operator: 'In', values: ['in', 'notin'] }]],
    ['notin=in', 'notin=in', [{ key: 'notin', operator: 'Equals', values: ['in'] }]],
    ['tier in(a)', 'tier in (a)', [{ key: 'tier', operator: 'In', values: ['a'] }]],
    [
      'example.com/team=a-b_c.D9',
      'example.com/team=a-b_c.D9',
      [{ key: 'example.com/team', operator: 'Equals', values: ['a-b_c.D9'] }],
    ],
  ];
  for (const [text, canonical, requirements] of cases) {
    it(`reads ${JSON.stringify(text)} as ${JSON.stringify(canonical)}`, () => {
      const selector = parseSelector(text);
      assert.deepEqual(selector.requirements, requirements);
      assert.equal(selector.toString(), canonical);
      assert.equal(selector.isEmpty(), requirements.length === 0);
    });
  }

  it('joins requirements with commas, tolerating whitespace around every token', () => {
    const selector = parseSelector(' \tapp = web ,\n tier  in ( b , a ) , ! canary ,env!= prod ');
    assert.equal(selector.toString(), 'app=web,!canary,env!=prod,tier in (a,b)');
  });

  it('sorts requirements by key and keeps repeated keys, ordered by their text', () => {
    assert.equal(parseSelector('z=1,a=2,m,a=1').toString(), 'a=1,a=2,m,z=1');
  });

  it('accepts keys and values at their maximum lengths', () => {
    const prefix = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`;
    assert.equal(prefix.length, 253);
    const key = `${prefix}/${'N'.repeat(63)}`;
    const selector = parseSelector(`${key}=${'v'.repeat(63)}`);
    assert.deepEqual(selector.requirements, [{ key, operator: 'Equals', values: ['v'.repeat(63)] }]);
  });
});

describe('LabelSelector.matches', () => {
  const cases: [selector: string, labels: Record<string, string>, expected: boolean][] = [
    ['', {}, true],
    ['', { app: 'web' }, true],
    ['app=web', { app: 'web' }, true],
    ['app=web', { app: 'api' }, false],
    ['app=web', {}, false],
    ['app==web', { app: 'web', extra: 'x' }, true],
    ['app=', { app: '' }, true],
    ['app=', {}, false],
    ['app!=web', { app: 'api' }, true],
    ['app!=web', { app: 'web' }, false],
    ['app!=web', {}, true],
    ['tier in (a,b)', { tier: 'b' }, true],
    ['tier in (a,b)', { tier: 'c' }, false],
    ['tier in (a,b)', {}, false],
    ['tier in ()', { tier: '' }, true],
    ['tier in ()', { tier: 'a' }, false],
    ['tier notin (a,b)', { tier: 'c' }, true],
    ['tier notin (a,b)', { tier: 'a' }, false],
    ['tier notin (a,b)', {}, true],
    ['canary', { canary: '' }, true],
    ['canary', {}, false],
    ['!canary', {}, true],
    ['!canary', { canary: 'yes' }, false],
    ['n>3', { n: '4' }, true],
    ['n>3', { n: '3' }, false],
    ['n>3', { n: '+4' }, true],
    ['n>3', { n: 'four' }, false],
    ['n>3', {}, false],
    ['n<3', { n: '-9223372036854775808' }, true],
    ['n<3', { n: '-9223372036854775809' }, false],
    ['n>9223372036854775806', { n: '9223372036854775807' }, true],
    ['n<10', { n: '09' }, true],
    ['n<10', { n: '4.5' }, false],
    ['app=web,!canary', { app: 'web' }, true],
    ['app=web,!canary', { app: 'web', canary: '1' }, false],
    ['constructor', {}, false],
    ['!toString', {}, true],
  ];
  for (const [selector, labels, expected] of cases) {
    it(`${JSON.stringify(selector)} ${expected ? 'matches' : 'does not match'} ${JSON.stringify(labels)}`, () => {
      assert.equal(parseSelector(selector).matches(labels), expected);
    });
  }
});

describe('parseSelector refuses malformed selectors, saying what and where', () => {
  const at = (text: string, detail: string) =>
    `unable to parse label selector ${JSON.stringify(text.length > 120 ? `${text.slice(0, 120)}…` : text)}: ${detail}`;
  const operators = "an operator ('=', '==', '!=', 'in', 'notin', '>' or '<'), ',' or end of string";
  const valueRule =
    "a value must be empty or consist of alphanumerics, '-', '_' or '.', and start and end with an alphanumeric";
  const nameRule =
    "the name part must consist of alphanumerics, '-', '_' or '.', and start and end with an alphanumeric (e.g. 'MyName', 'my.name', '123-abc')";
  const comparisonRule = (op: string) =>
    `'${op}' compares with a non-negative integer no larger than 9223372036854775807`;
  const cases: [text: string, detail: string][] = [
    [',a', "found ',' at column 1, expected '!', a label key or end of string"],
    ['a=b,', "found end of string at column 5, expected '!' or a label key after ','"],
    ['a=b,,c', "found ',' at column 5, expected '!' or a label key after ','"],
    ['a=b c=d', "found 'c' at column 5, expected ',' or end of string"],
    ['a=b=c', "found '=' at column 4, expected ',' or end of string"],
    ['a b', `found 'b' at column 3, expected ${operators} after key 'a'`],
    ['a (x)', `found '(' at column 3, expected ${operators} after key 'a'`],
    ['!', "found end of string at column 2, expected a label key after '!'"],
    ['!!a', "found '!' at column 2, expected a label key after '!'"],
    ['!a=b', "found '=' at column 3, expected ',' or end of string ('!a' takes no operator or value)"],
    ['=b', "found '=' at column 1, expected '!', a label key or end of string"],
    ['a in x', "found 'x' at column 6, expected '(' after 'in'"],
    ['a notin', "found end of string at column 8, expected '(' after 'notin'"],
    ['a in (x', "found end of string at column 8, expected ',' or ')' in the value list"],
    ['a in (x y)', "found 'y' at column 9, expected ',' or ')' in the value list"],
    ['a in (x,', "found end of string at column 9, expected a value or ','"],
    ['a in (x,,)', "found ')' at column 10, expected a value or ','"],
    ['a in (,,)', "found ')' at column 9, expected a value or ','"],
    ['a in (=)', "found '=' at column 7, expected a value, ',' or ')'"],
    ['a in ((x))', "found '(' at column 7, expected a value, ',' or ')'"],
    ['a=(', "found '(' at column 3, expected a value after '='"],
    ['a!=!b', "found '!' at column 4, expected a value after '!='"],
    ['a/b/c', "invalid label key 'a/b/c' at column 1: a key may contain at most one '/', between prefix and name"],
    ['/a', "invalid label key '/a' at column 1: the prefix before '/' must not be empty"],
    ['x.io/', "invalid label key 'x.io/' at column 1: the name part must not be empty"],
    [
      'Example.com/a',
      "invalid label key 'Example.com/a' at column 1: the prefix must be a DNS subdomain: lowercase alphanumerics, '-' and '.', each dot-separated part starting and ending with an alphanumeric (e.g. 'example.com')",
    ],
    [
      `${'p'.repeat(254)}/a`,
      `invalid label key '${'p'.repeat(64)}…' at column 1: the prefix must be at most 253 characters (it has 254)`,
    ],
    [
      `${'k'.repeat(64)}=v`,
      `invalid label key '${'k'.repeat(64)}' at column 1: the name part must be at most 63 characters (it has 64)`,
    ],
    [
      `${'k'.repeat(65)}=v`,
      `invalid label key '${'k'.repeat(64)}…' at column 1: the name part must be at most 63 characters (it has 65)`,
    ],
    ['-a=b', `invalid label key '-a' at column 1: ${nameRule}`],
    ['a_=b', `invalid label key 'a_' at column 1: ${nameRule}`],
    ['a=-b', `invalid value '-b' for key 'a' at column 3: ${valueRule}`],
    ['a="b"', `invalid value '"b"' for key 'a' at column 3: ${valueRule}`],
    ["a='b'", `invalid value ''b'' for key 'a' at column 3: ${valueRule}`],
    ['a in (ok, b@d)', `invalid value 'b@d' for key 'a' at column 11: ${valueRule}`],
    [
      `a=${'v'.repeat(64)}`,
      `invalid value '${'v'.repeat(64)}' for key 'a' at column 3: a value must be at most 63 characters (it has 64)`,
    ],
    ['a\u00a0=b', `invalid label key 'a\u00a0' at column 1: ${nameRule}`],
    ['a>', `invalid value '' for key 'a' at column 3: ${comparisonRule('>')}`],
    ['a>x', `invalid value 'x' for key 'a' at column 3: ${comparisonRule('>')}`],
    ['a<-1', `invalid value '-1' for key 'a' at column 3: ${comparisonRule('<')}`],
    ['a<1.5', `invalid value '1.5' for key 'a' at column 3: ${comparisonRule('<')}`],
    ['a>9223372036854775808', `invalid value '9223372036854775808' for key 'a' at column 3: ${comparisonRule('>')}`],
    ['a>=1', "found '=' at column 3, expected a value after '>'"],
  ];
  for (const [text, detail] of cases) {
    it(`refuses ${JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text)}`, () => {
      assertBadRequest(() => parseSelector(text), at(text, detail));
    });
  }

  it('quotes at most 120 characters of a long selector and still gives the column', () => {
    const text = `${'a=b,'.repeat(40)}c d`;
    const quoted = JSON.stringify(`${text.slice(0, 120)}…`);
    assertBadRequest(
      () => parseSelector(text),
      `unable to parse label selector ${quoted}: found 'd' at column 163, expected ${"an operator ('=', '==', '!=', 'in', 'notin', '>' or '<'), ',' or end of string"} after key 'c'`,
    );
  });
});

describe('parseSelector bounds the work a selector can cost', () => {
  it(`accepts ${MAX_SELECTOR_LENGTH} characters and refuses one more`, () => {
    const exact = `a=${'b'.repeat(61)},`.repeat(64).slice(0, MAX_SELECTOR_LENGTH - 1);
    assert.equal(`${exact}x`.length, MAX_SELECTOR_LENGTH);
    assert.equal(parseSelector(`${exact}x`).requirements.length, 64);
    const tooLong = ' '.repeat(MAX_SELECTOR_LENGTH + 1);
    assertBadRequest(
      () => parseSelector(tooLong),
      `label selector ${JSON.stringify(`${' '.repeat(120)}…`)} is 4097 characters long; at most 4096 are allowed`,
    );
  });

  it(`accepts ${MAX_SELECTOR_REQUIREMENTS} requirements and refuses the next`, () => {
    const keys = Array.from({ length: MAX_SELECTOR_REQUIREMENTS + 1 }, (_, i) => `k${i}`);
    assert.equal(parseSelector(keys.slice(0, -1).join(',')).requirements.length, 100);
    const text = keys.join(',');
    assertBadRequest(
      () => parseSelector(text),
      `unable to parse label selector ${JSON.stringify(`${text.slice(0, 120)}…`)}: too many requirements at column ${text.indexOf('k100') + 1}, expected at most 100 requirements`,
    );
  });

  it(`accepts ${MAX_SELECTOR_SET_VALUES} distinct values in a set and refuses the next`, () => {
    const values = Array.from({ length: MAX_SELECTOR_SET_VALUES + 1 }, (_, i) => `v${i}`);
    assert.equal(parseSelector(`a in (${values.slice(0, -1).join(',')})`).requirements[0]?.values.length, 100);
    assert.equal(parseSelector(`a in (${Array(300).fill('same').join(',')})`).toString(), 'a in (same)');
    const text = `a in (${values.join(',')})`;
    assertBadRequest(
      () => parseSelector(text),
      `unable to parse label selector ${JSON.stringify(`${text.slice(0, 120)}…`)}: too many values at column ${text.indexOf('v100') + 1}, expected at most 100 values in a set`,
    );
  });
});

describe('selectorFromMatchLabels', () => {
  it('requires every label, in key order', () => {
    const selector = selectorFromMatchLabels({ verb: 'GET', app: 'web' });
    assert.equal(selector.toString(), 'app=web,verb=GET');
    assert.equal(selector.matches({ app: 'web', verb: 'GET', code: '200' }), true);
    assert.equal(selector.matches({ app: 'web' }), false);
  });

  it('matches everything when given no labels', () => {
    assert.equal(selectorFromMatchLabels({}).isEmpty(), true);
  });

  it('refuses an invalid key or value, naming the entry', () => {
    assertBadRequest(
      () => selectorFromMatchLabels({ 'bad key': 'x' }),
      `invalid matchLabels entry "bad key": "x": the name part must consist of alphanumerics, '-', '_' or '.', and start and end with an alphanumeric (e.g. 'MyName', 'my.name', '123-abc')`,
    );
    assertBadRequest(
      () => selectorFromMatchLabels({ app: 'a,b' }),
      `invalid matchLabels entry "app": "a,b": a value must be empty or consist of alphanumerics, '-', '_' or '.', and start and end with an alphanumeric`,
    );
  });
});

describe('toMatchLabelsSelector', () => {
  it('puts equalities in matchLabels and the rest in matchExpressions', () => {
    const selector = parseSelector('verb=GET,code!=500,tier in (b,a),env notin (dev),canary,!legacy');
    assert.deepEqual(toMatchLabelsSelector(selector), {
      matchLabels: { verb: 'GET' },
      matchExpressions: [
        { key: 'canary', operator: 'Exists' },
        { key: 'code', operator: 'NotIn', values: ['500'] },
        { key: 'env', operator: 'NotIn', values: ['dev'] },
        { key: 'legacy', operator: 'DoesNotExist' },
        { key: 'tier', operator: 'In', values: ['a', 'b'] },
      ],
    });
  });

  it('expresses a second equality on the same key as In, keeping both constraints', () => {
    assert.deepEqual(toMatchLabelsSelector(parseSelector('a=x,a=y')), {
      matchLabels: { a: 'x' },
      matchExpressions: [{ key: 'a', operator: 'In', values: ['y'] }],
    });
  });

  it('leaves out > and <, which metav1.LabelSelector cannot express', () => {
    assert.deepEqual(toMatchLabelsSelector(parseSelector('n>1,m<2,app=web')), { matchLabels: { app: 'web' } });
    assert.deepEqual(toMatchLabelsSelector(parseSelector('n>1')), {});
  });

  it('gives an empty object for the empty selector', () => {
    assert.deepEqual(toMatchLabelsSelector(parseSelector('')), {});
  });
});

describe('selector properties', () => {
  type Spec = { key: string; op: string; values: string[] };
  const keys = ['app', 'tier', 'example.com/team', 'in', 'n'];
  const words = ['', 'a', 'b', 'web', '1', '10', '007'];
  const numbers = ['0', '1', '5', '10', '007'];
  const blank = fc.constantFrom('', ' ', '  ', '\t', '\n');

  const spec: fc.Arbitrary<Spec> = fc.oneof(
    fc.record({
      key: fc.constantFrom(...keys),
      op: fc.constantFrom('=', '==', '!='),
      values: fc.tuple(fc.constantFrom(...words)),
    }),
    fc.record({
      key: fc.constantFrom(...keys),
      op: fc.constantFrom('in', 'notin'),
      values: fc.uniqueArray(fc.constantFrom(...words), { minLength: 1, maxLength: 4 }),
    }),
    fc.record({ key: fc.constantFrom(...keys), op: fc.constantFrom('exists', '!'), values: fc.constant<string[]>([]) }),
    fc.record({
      key: fc.constantFrom(...keys),
      op: fc.constantFrom('>', '<'),
      values: fc.tuple(fc.constantFrom(...numbers)),
    }),
  );

  const render = (s: Spec, [b1, b2, b3]: [string, string, string]): string => {
    switch (s.op) {
      case 'exists':
        return s.key;
      case '!':
        return `!${b1}${s.key}`;
      case 'in':
      case 'notin': {
        // An empty value may lead the list; kube refuses some trailing forms such as `(a,,)`.
        const ordered = [...s.values].sort((x, y) => (x === '' ? -1 : y === '' ? 1 : 0));
        return `${s.key} ${s.op}${b1}(${b2}${ordered.join(`${b3},${b2}`)}${b3})`;
      }
      default:
        return `${s.key}${b1}${s.op}${b2}${s.values[0]}`;
    }
  };

  const int = (text: string | undefined): bigint | undefined =>
    text !== undefined && /^[+-]?[0-9]+$/.test(text) ? BigInt(text) : undefined;

  const expected = (specs: Spec[], labels: Record<string, string>): boolean =>
    specs.every((s) => {
      const has = Object.hasOwn(labels, s.key);
      const value = labels[s.key];
      switch (s.op) {
        case '=':
        case '==':
        case 'in':
          return has && s.values.includes(value ?? '');
        case '!=':
        case 'notin':
          return !has || !s.values.includes(value ?? '');
        case 'exists':
          return has;
        case '!':
          return !has;
        default: {
          const actual = int(value);
          const bound = BigInt(s.values[0] ?? '');
          if (!has || actual === undefined) return false;
          return s.op === '>' ? actual > bound : actual < bound;
        }
      }
    });

  const selectorText = fc
    .array(fc.tuple(spec, fc.tuple(blank, blank, blank), blank), { maxLength: 6 })
    .map((parts) => ({
      specs: parts.map(([s]) => s),
      text: parts.map(([s, blanks, around]) => `${around}${render(s, blanks)}${around}`).join(','),
    }));

  const labelMap = fc.dictionary(fc.constantFrom(...keys, 'other'), fc.constantFrom(...words, '-3', '+4', 'x'), {
    maxKeys: 6,
  });

  it('matches label maps exactly as the meaning of each requirement says', () => {
    fc.assert(
      fc.property(selectorText, fc.array(labelMap, { maxLength: 8 }), ({ specs, text }, maps) => {
        const selector = parseSelector(text);
        for (const labels of maps) assert.equal(selector.matches(labels), expected(specs, labels), text);
      }),
      { numRuns: 500 },
    );
  });

  it('keeps its meaning through toString and parse, and toString is a fixed point', () => {
    fc.assert(
      fc.property(selectorText, fc.array(labelMap, { maxLength: 8 }), ({ text }, maps) => {
        const selector = parseSelector(text);
        const again = parseSelector(selector.toString());
        assert.equal(again.toString(), selector.toString());
        assert.deepEqual(again.requirements, selector.requirements);
        for (const labels of maps) assert.equal(again.matches(labels), selector.matches(labels));
      }),
      { numRuns: 500 },
    );
  });

  it('throws only BadRequest ApiErrors on arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'ab=!(),<> in\t/-.0'), maxLength: 30 }), (text) => {
        try {
          parseSelector(text);
        } catch (error) {
          assert.ok(error instanceof ApiError && error.reason === 'BadRequest', String(error));
        }
      }),
      { numRuns: 1000 },
    );
  });
});
