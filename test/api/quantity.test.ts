import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ApiError } from '../../src/api/errors.js';
import { formatQuantity, isValidQuantity, parseQuantity } from '../../src/api/quantity.js';

/** What Go's resource.ParseQuantity reads, restricted to the shapes formatQuantity may write. */
const GO_QUANTITY_WRITTEN = /^-?(?:(?:0|[1-9][0-9]*)[mun]?|[1-9](?:\.[0-9]*[1-9])?e-?(?:0|[1-9][0-9]*))$/;

describe('formatQuantity writes what Go parses', () => {
  const cases: [value: number, text: string][] = [
    [0, '0'],
    [-0, '0'],
    [42, '42'],
    [-3, '-3'],
    [1000, '1000'],
    [0.5, '500m'],
    [1.5, '1500m'],
    [-1.5, '-1500m'],
    [0.001, '1m'],
    [0.25, '250m'],
    [123.456, '123456m'],
    [0.0001, '100u'],
    [0.0015, '1500u'],
    [1.000001, '1000001u'],
    [1e-9, '1n'],
    [2.5e-8, '25n'],
    [-1.23456789, '-1234567890n'],
    [1.1e-9, '1.1e-9'],
    [1.2345678e-5, '1.2345678e-5'],
    [0.1 + 0.7, '7.999999999999999e-1'],
    [0.1 + 0.2, '3.0000000000000004e-1'],
    [1.0000000001, '1.0000000001e0'],
    [5e-324, '5e-324'],
    [-5e-324, '-5e-324'],
    [1e20, '100000000000000000000'],
    [123456789012345680000, '123456789012345680000'],
    [2 ** 53, '9007199254740992'],
    [2 ** 60, '1152921504606847000'],
    [1e21, '1e21'],
    [-1e21, '-1e21'],
    [1.5e300, '1.5e300'],
    [Number.MAX_VALUE, '1.7976931348623157e308'],
    [4503599627370495.5, '4503599627370495500m'],
  ];
  for (const [value, text] of cases) {
    it(`writes ${Object.is(value, -0) ? '-0' : String(value)} as "${text}"`, () => {
      assert.equal(formatQuantity(value), text);
      assert.match(text, GO_QUANTITY_WRITTEN);
    });
  }

  for (const value of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
    it(`refuses ${value} with a RangeError the caller can fall back on`, () => {
      assert.throws(() => formatQuantity(value), {
        name: 'RangeError',
        message: `${value} has no Kubernetes quantity form: only finite numbers do`,
      });
    });
  }
});

describe('parseQuantity reads the Go quantity grammar', () => {
  const cases: [text: string, value: number][] = [
    ['0', 0],
    ['-0', 0],
    ['+0.0', 0],
    ['42', 42],
    ['+42', 42],
    ['-3', -3],
    ['007', 7],
    ['1.5', 1.5],
    ['.5', 0.5],
    ['5.', 5],
    ['-.5', -0.5],
    ['1500m', 1.5],
    ['100u', 0.0001],
    ['5n', 5e-9],
    ['1.5m', 0.0015],
    ['2k', 2000],
    ['3M', 3e6],
    ['4G', 4e9],
    ['5T', 5e12],
    ['6P', 6e15],
    ['7E', 7e18],
    ['1Ki', 1024],
    ['1.5Ki', 1536],
    ['1536Mi', 1536 * 2 ** 20],
    ['0.5Gi', 2 ** 29],
    ['1Ti', 2 ** 40],
    ['1Pi', 2 ** 50],
    ['-2Ei', -(2 ** 61)],
    ['12e6', 12e6],
    ['12E6', 12e6],
    ['1e+21', 1e21],
    ['1e21', 1e21],
    ['1.2345678e-5', 1.2345678e-5],
    ['12345678e-12', 1.2345678e-5],
    ['1e-05', 1e-5],
    ['1e-400', 0],
    ['-1e-400', 0],
    ['1.7976931348623157e308', Number.MAX_VALUE],
    ['0.30000000000000004', 0.30000000000000004],
    [`1${'0'.repeat(400)}e-400`, 1],
  ];
  for (const [text, value] of cases) {
    it(`reads "${text.length > 30 ? `${text.slice(0, 30)}…` : text}" as ${value}`, () => {
      assert.equal(parseQuantity(text), value);
      assert.equal(isValidQuantity(text), true);
    });
  }

  it('rounds a decimal to the nearest double, not by summing parts', () => {
    assert.equal(parseQuantity('9007199254740993'), 9007199254740992);
    assert.equal(parseQuantity('9007199254740993.0001'), 9007199254740994);
  });

  const suffixes = 'expected one of n, u, m, k, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi, Ei or an exponent such as e3';
  const number = "expected a number such as '2', '1.5' or '.5' before any suffix";
  const errors: [text: string, problem: string][] = [
    ['', 'a quantity must not be empty'],
    ['-', number],
    ['+', number],
    ['.', number],
    ['k', number],
    ['e5', number],
    ['Ki', number],
    [' 1', number],
    ['1 ', `unknown suffix ' '; ${suffixes}`],
    ['1ki', `unknown suffix 'ki'; ${suffixes}`],
    ['1KB', `unknown suffix 'KB'; ${suffixes}`],
    ['1e', `unknown suffix 'e'; ${suffixes}`],
    ['1e5m', `unknown suffix 'e5m'; ${suffixes}`],
    ['1e1.5', `unknown suffix 'e1.5'; ${suffixes}`],
    ['1.5.5', `unknown suffix '.5'; ${suffixes}`],
    ['0x10', `unknown suffix 'x10'; ${suffixes}`],
    ['1_000', `unknown suffix '_000'; ${suffixes}`],
    ['NaN', number],
    ['Infinity', number],
    ['1e2147483648', 'exponent 2147483648 is outside -2147483648..2147483647'],
    ['1e400', 'its magnitude is beyond the range of a double (about 1.8e308)'],
    ['-2e308', 'its magnitude is beyond the range of a double (about 1.8e308)'],
  ];
  for (const [text, problem] of errors) {
    it(`refuses ${JSON.stringify(text)}: ${problem}`, () => {
      assert.throws(
        () => parseQuantity(text),
        (error: unknown) => {
          assert.ok(error instanceof ApiError);
          assert.equal(error.reason, 'BadRequest');
          assert.equal(error.message, `invalid quantity ${JSON.stringify(text)}: ${problem}`);
          return true;
        },
      );
      assert.equal(isValidQuantity(text), false);
    });
  }

  it('quotes at most 64 characters of a long invalid text', () => {
    const text = `${'1'.repeat(100)}x`;
    assert.throws(() => parseQuantity(text), {
      message: `invalid quantity "${'1'.repeat(64)}…": unknown suffix 'x'; ${suffixes}`,
    });
  });
});

describe('quantity properties', () => {
  const same = (actual: number, expected: number) => assert.equal(actual, expected === 0 ? 0 : expected);

  it('round-trips every finite double exactly, in a form Go parses', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (value) => {
        const text = formatQuantity(value);
        assert.match(text, GO_QUANTITY_WRITTEN);
        same(parseQuantity(text), value);
      }),
      { numRuns: 5000 },
    );
  });

  it('writes safe integers as their plain decimal digits', () => {
    fc.assert(
      fc.property(fc.maxSafeInteger(), (value) => {
        assert.equal(formatQuantity(value), String(value));
        same(parseQuantity(formatQuantity(value)), value);
      }),
      { numRuns: 2000 },
    );
  });

  it('writes whole thousandths as milli-units', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -1e12, max: 1e12 }).filter((k) => k % 1000 !== 0),
        (k) => {
          assert.equal(formatQuantity(k / 1000), `${k}m`);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('reads binary suffixes as exact powers of two', () => {
    const binary = fc.constantFrom(['Ki', 10], ['Mi', 20], ['Gi', 30], ['Ti', 40], ['Pi', 50], ['Ei', 60]);
    fc.assert(
      fc.property(fc.integer({ min: -(2 ** 31), max: 2 ** 31 }), binary, (n, [suffix, bits]) => {
        same(parseQuantity(`${n}${suffix}`), n * 2 ** (bits as number));
      }),
    );
  });
});
