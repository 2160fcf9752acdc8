import { clip } from '../lib/text.js';
import { ApiError } from './errors.js';

/**
 * Kubernetes quantities (k8s.io/apimachinery/pkg/api/resource), the string form every metric
 * value takes on the wire:
 *
 *   <quantity> ::= <sign>? <number> <suffix>
 *   <number>   ::= <digits> | <digits>. | <digits>.<digits> | .<digits>
 *   <suffix>   ::= "" | n | u | m | k | M | G | T | P | E | Ki | Mi | Gi | Ti | Pi | Ei
 *                | (e | E) <sign>? <digits>
 */

const DECIMAL_SUFFIXES: ReadonlyMap<string, number> = new Map([
  ['n', -9],
  ['u', -6],
  ['m', -3],
  ['', 0],
  ['k', 3],
  ['M', 6],
  ['G', 9],
  ['T', 12],
  ['P', 15],
  ['E', 18],
]);

const BINARY_SUFFIXES: ReadonlyMap<string, bigint> = new Map([
  ['Ki', 2n ** 10n],
  ['Mi', 2n ** 20n],
  ['Gi', 2n ** 30n],
  ['Ti', 2n ** 40n],
  ['Pi', 2n ** 50n],
  ['Ei', 2n ** 60n],
]);

/** Sub-unit suffixes tried in turn for fractions: the first that holds every digit wins. */
const FRACTION_SUFFIXES: readonly (readonly [suffix: string, decimals: number])[] = [
  ['m', 3],
  ['u', 6],
  ['n', 9],
];

/** Below 1e21 integers print as plain digits, as JavaScript and Go both do. */
const MAX_PLAIN_INTEGER_DIGITS = 21;
/** Go keeps a quantity's exponent in an int32. */
const MAX_EXPONENT = 2 ** 31 - 1;
const MIN_EXPONENT = -(2 ** 31);
const QUOTED_TEXT_LIMIT = 64;

const NUMBER_PART = /^([+-]?)([0-9]*)(?:\.([0-9]*))?/;
const EXPONENT_SUFFIX = /^[eE]([+-]?[0-9]+)$/;

/**
 * The quantity string for a finite number: plain digits for integers below 1e21, milli-,
 * micro- or nano-units when that holds the number's shortest round-trip decimal exactly,
 * otherwise a decimal exponent (`1.2345678e-5`, `1e21`). parseQuantity gives back the same
 * double. Go rounds anything finer than 1n up to the next nano-unit when it parses.
 */
export function formatQuantity(value: number): string {
  if (!Number.isFinite(value)) {
    throw new RangeError(`${value} has no Kubernetes quantity form: only finite numbers do`);
  }
  if (value === 0) return '0';
  const sign = value < 0 ? '-' : '';
  const { digits, exponent } = shortestDecimal(Math.abs(value));
  if (exponent >= 0) {
    if (digits.length + exponent <= MAX_PLAIN_INTEGER_DIGITS) {
      return `${sign}${digits}${'0'.repeat(exponent)}`;
    }
    return `${sign}${scientific(digits, exponent)}`;
  }
  for (const [suffix, decimals] of FRACTION_SUFFIXES) {
    if (-exponent <= decimals) return `${sign}${digits}${'0'.repeat(decimals + exponent)}${suffix}`;
  }
  return `${sign}${scientific(digits, exponent)}`;
}

/**
 * The number a quantity string stands for, rounded to the nearest double. Throws a
 * BadRequest ApiError for text outside the grammar and for magnitudes beyond a double.
 */
export function parseQuantity(text: string): number {
  const number = NUMBER_PART.exec(text);
  const integerDigits = number?.[2] ?? '';
  const fractionDigits = number?.[3] ?? '';
  if (text === '') throw invalidQuantity(text, 'a quantity must not be empty');
  if (number === null || integerDigits + fractionDigits === '') {
    throw invalidQuantity(text, "expected a number such as '2', '1.5' or '.5' before any suffix");
  }
  const suffix = text.slice(number[0].length);
  let digits = `${integerDigits}${fractionDigits}`;
  let exponent = -fractionDigits.length;
  const binary = BINARY_SUFFIXES.get(suffix);
  if (binary !== undefined) {
    digits = (BigInt(digits) * binary).toString();
  } else {
    exponent += decimalExponent(text, suffix);
  }
  // Number() rounds a decimal string correctly, so the result is the double nearest the text.
  const magnitude = Number(`${digits}e${exponent}`);
  if (!Number.isFinite(magnitude)) {
    throw invalidQuantity(text, 'its magnitude is beyond the range of a double (about 1.8e308)');
  }
  if (magnitude === 0) return 0;
  return number[1] === '-' ? -magnitude : magnitude;
}

/** Whether parseQuantity accepts `text`. */
export function isValidQuantity(text: string): boolean {
  try {
    parseQuantity(text);
    return true;
  } catch (error) {
    if (error instanceof ApiError) return false;
    throw error;
  }
}

function decimalExponent(text: string, suffix: string): number {
  const decimal = DECIMAL_SUFFIXES.get(suffix);
  if (decimal !== undefined) return decimal;
  const exponentText = EXPONENT_SUFFIX.exec(suffix)?.[1];
  if (exponentText === undefined) {
    throw invalidQuantity(
      text,
      `unknown suffix '${suffix}'; expected one of n, u, m, k, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi, Ei or an exponent such as e3`,
    );
  }
  const exponent = Number(exponentText);
  if (exponent < MIN_EXPONENT || exponent > MAX_EXPONENT) {
    throw invalidQuantity(text, `exponent ${exponentText} is outside ${MIN_EXPONENT}..${MAX_EXPONENT}`);
  }
  return exponent;
}

/** The shortest digit string that round-trips `magnitude` (> 0), and its power of ten. */
function shortestDecimal(magnitude: number): { digits: string; exponent: number } {
  const [mantissa = '', power = '0'] = magnitude.toExponential().split('e');
  const digits = mantissa.replace('.', '');
  return { digits, exponent: Number(power) - (digits.length - 1) };
}

/** `d.ddde<power>` without a '+', the form Go itself writes. */
function scientific(digits: string, exponent: number): string {
  const power = exponent + digits.length - 1;
  const fraction = digits.length > 1 ? `.${digits.slice(1)}` : '';
  return `${digits.slice(0, 1)}${fraction}e${power}`;
}

function invalidQuantity(text: string, problem: string): ApiError {
  return ApiError.badRequest(`invalid quantity ${JSON.stringify(clip(text, QUOTED_TEXT_LIMIT))}: ${problem}`);
}
