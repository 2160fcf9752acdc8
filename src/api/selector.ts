import { clip } from '../lib/text.js';
import { ApiError } from './errors.js';
import {
  describeToken,
  labelKeyProblem,
  labelValueProblem,
  lexSelector,
  quoteLiteral,
  type Token,
  type TokenKind,
} from './selector-lexer.js';

/**
 * Kubernetes label selectors, parsed and matched as k8s.io/apimachinery/pkg/labels `Parse`
 * does, so a selector means here exactly what it means to kubectl and the HPA controller.
 */

export type Operator = 'Equals' | 'NotEquals' | 'In' | 'NotIn' | 'Exists' | 'DoesNotExist' | 'GreaterThan' | 'LessThan';

export interface Requirement {
  key: string;
  operator: Operator;
  /** Sorted and without duplicates; one value for Equals, NotEquals, GreaterThan, LessThan. */
  values: string[];
}

export interface LabelSelector {
  readonly requirements: readonly Requirement[];
  matches(labels: Readonly<Record<string, string>>): boolean;
  isEmpty(): boolean;
  /** Canonical Kubernetes string form, e.g. `app=web,tier in (a,b)`. */
  toString(): string;
}

/** The metav1.LabelSelector JSON form, as custom.metrics v1beta2 `metric.selector` carries it. */
export interface MatchExpression {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: string[];
}

export interface MetaLabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: MatchExpression[];
}

/** Selectors arrive in query strings from anyone allowed to ask; these bound the work one costs. */
export const MAX_SELECTOR_LENGTH = 4096;
export const MAX_SELECTOR_REQUIREMENTS = 100;
export const MAX_SELECTOR_SET_VALUES = 100;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
/** Error messages quote at most this much of the selector; the column locates the rest. */
const QUOTED_SELECTOR_LIMIT = 120;

const DECIMAL_INTEGER = /^[+-]?[0-9]+$/;

/** Parses a selector such as `app=web,tier in (a,b),!canary`; the empty string matches everything. */
export function parseSelector(text: string): LabelSelector {
  if (text.length > MAX_SELECTOR_LENGTH) {
    throw ApiError.badRequest(
      `label selector ${quoteSelector(text)} is ${text.length} characters long; at most ${MAX_SELECTOR_LENGTH} are allowed`,
    );
  }
  return new ParsedSelector(new SelectorParser(text).parse());
}

/** The selector that matches exactly these labels (an empty map matches everything). */
export function selectorFromMatchLabels(labels: Readonly<Record<string, string>>): LabelSelector {
  const requirements = Object.entries(labels).map(([key, value]): Requirement => {
    const problem = labelKeyProblem(key) ?? labelValueProblem(value);
    if (problem !== undefined) {
      throw ApiError.badRequest(
        `invalid matchLabels entry ${JSON.stringify(key)}: ${JSON.stringify(value)}: ${problem}`,
      );
    }
    return { key, operator: 'Equals', values: [value] };
  });
  return new ParsedSelector(requirements);
}

/**
 * The selector a metav1.LabelSelector means, as metav1.LabelSelectorAsSelector reads it (the HPA
 * controller turns a metric's `selector` into its query so): matchLabels are Equals, In and NotIn
 * need values, Exists and DoesNotExist take none; its toString() is the canonical form.
 */
export function selectorFromMeta(meta: MetaLabelSelector | undefined): LabelSelector {
  const requirements: Requirement[] = [];
  for (const [key, value] of Object.entries(meta?.matchLabels ?? {})) {
    requirements.push(checked(key, { key, operator: 'Equals', values: [value] }, [value]));
  }
  for (const { key, operator, values = [] } of meta?.matchExpressions ?? []) {
    const set = [...new Set(values)].sort(compareStrings);
    const needsValues = operator === 'In' || operator === 'NotIn';
    if (needsValues === (set.length === 0)) {
      throw ApiError.badRequest(
        `invalid matchExpressions entry for ${JSON.stringify(key)}: ${operator} ${needsValues ? 'needs' : 'takes no'} values`,
      );
    }
    requirements.push(checked(key, { key, operator, values: set }, set));
  }
  return new ParsedSelector(requirements);
}

function checked(key: string, requirement: Requirement, values: readonly string[]): Requirement {
  const problem = labelKeyProblem(key) ?? values.map(labelValueProblem).find((p) => p !== undefined);
  if (problem !== undefined)
    throw ApiError.badRequest(`invalid selector requirement on ${JSON.stringify(key)}: ${problem}`);
  return requirement;
}

/**
 * The metav1.LabelSelector form of a selector. GreaterThan and LessThan have no metav1
 * operator (the API's Gt/Lt exist only for node affinity), so they are left out: the result
 * then describes a superset of what the selector matched.
 */
export function toMatchLabelsSelector(selector: LabelSelector): MetaLabelSelector {
  const matchLabels: Record<string, string> = {};
  const matchExpressions: MatchExpression[] = [];
  for (const { key, operator, values } of selector.requirements) {
    switch (operator) {
      case 'Equals':
        if (Object.hasOwn(matchLabels, key)) {
          matchExpressions.push({ key, operator: 'In', values: [...values] });
        } else {
          matchLabels[key] = values[0] ?? '';
        }
        break;
      case 'NotEquals':
      case 'NotIn':
        matchExpressions.push({ key, operator: 'NotIn', values: [...values] });
        break;
      case 'In':
        matchExpressions.push({ key, operator: 'In', values: [...values] });
        break;
      case 'Exists':
      case 'DoesNotExist':
        matchExpressions.push({ key, operator });
        break;
      case 'GreaterThan':
      case 'LessThan':
        break;
    }
  }
  const result: MetaLabelSelector = {};
  if (Object.keys(matchLabels).length > 0) result.matchLabels = matchLabels;
  if (matchExpressions.length > 0) result.matchExpressions = matchExpressions;
  return result;
}

class ParsedSelector implements LabelSelector {
  readonly requirements: readonly Requirement[];
  /** Made once: backends key their memos by it on every request (see providers/provider.ts). */
  private readonly text: string;

  constructor(requirements: Requirement[]) {
    const sorted = requirements
      .map((requirement) => ({ requirement, text: requirementToString(requirement) }))
      .sort((a, b) => compareStrings(a.requirement.key, b.requirement.key) || compareStrings(a.text, b.text));
    this.requirements = sorted.map(({ requirement }) => requirement);
    this.text = sorted.map(({ text }) => text).join(',');
  }

  matches(labels: Readonly<Record<string, string>>): boolean {
    return this.requirements.every((requirement) => requirementMatches(requirement, labels));
  }

  isEmpty(): boolean {
    return this.requirements.length === 0;
  }

  toString(): string {
    return this.text;
  }
}

function requirementMatches({ key, operator, values }: Requirement, labels: Readonly<Record<string, string>>): boolean {
  const value = Object.hasOwn(labels, key) ? labels[key] : undefined;
  switch (operator) {
    case 'Equals':
    case 'In':
      return value !== undefined && values.includes(value);
    case 'NotEquals':
    case 'NotIn':
      return value === undefined || !values.includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
    case 'GreaterThan':
    case 'LessThan': {
      const actual = value === undefined ? undefined : parseInt64(value);
      const bound = values.length === 1 ? parseInt64(values[0] ?? '') : undefined;
      if (actual === undefined || bound === undefined) return false;
      return operator === 'GreaterThan' ? actual > bound : actual < bound;
    }
  }
}

function requirementToString({ key, operator, values }: Requirement): string {
  const joined = values.join(',');
  switch (operator) {
    case 'Exists':
      return key;
    case 'DoesNotExist':
      return `!${key}`;
    case 'Equals':
      return `${key}=${joined}`;
    case 'NotEquals':
      return `${key}!=${joined}`;
    case 'GreaterThan':
      return `${key}>${joined}`;
    case 'LessThan':
      return `${key}<${joined}`;
    case 'In':
      return `${key} in (${joined})`;
    case 'NotIn':
      return `${key} notin (${joined})`;
  }
}

/** Byte order, as Go sorts strings; validated keys and values are ASCII, where it equals code-unit order. */
function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** strconv.ParseInt(s, 10, 64): optional sign, decimal digits, within int64. */
function parseInt64(text: string): bigint | undefined {
  if (!DECIMAL_INTEGER.test(text)) return undefined;
  const value = BigInt(text);
  return value < INT64_MIN || value > INT64_MAX ? undefined : value;
}

function quoteSelector(text: string): string {
  return JSON.stringify(clip(text, QUOTED_SELECTOR_LIMIT));
}

/** In value position kube reads the keywords `in` and `notin` as plain identifiers (`in in (in)`). */
function valueKind(token: Token): TokenKind {
  return token.kind === 'in' || token.kind === 'notin' ? 'identifier' : token.kind;
}

const OPERATORS_EXPECTED = "an operator ('=', '==', '!=', 'in', 'notin', '>' or '<'), ',' or end of string";

/** A recursive-descent parser following kube's, token for token, so the same texts are accepted. */
class SelectorParser {
  private readonly tokens: Token[];
  private position = 0;

  constructor(private readonly text: string) {
    this.tokens = lexSelector(text);
  }

  parse(): Requirement[] {
    const requirements: Requirement[] = [];
    while (true) {
      const start = this.peek();
      if (start.kind === 'end') return requirements;
      if (!startsRequirement(start)) this.fail(start, "'!', a label key or end of string");
      if (requirements.length === MAX_SELECTOR_REQUIREMENTS) {
        this.fail(start, `at most ${MAX_SELECTOR_REQUIREMENTS} requirements`, 'too many requirements');
      }
      requirements.push(this.parseRequirement());
      const separator = this.next();
      if (separator.kind === 'end') return requirements;
      if (separator.kind !== 'comma') this.fail(separator, "',' or end of string");
      const following = this.peek();
      if (!startsRequirement(following)) this.fail(following, "'!' or a label key after ','");
    }
  }

  private parseRequirement(): Requirement {
    const first = this.next();
    const negated = first.kind === 'not';
    const keyToken = negated ? this.next() : first;
    if (valueKind(keyToken) !== 'identifier') {
      this.fail(keyToken, negated ? "a label key after '!'" : 'a label key');
    }
    const key = keyToken.literal;
    const keyProblem = labelKeyProblem(key);
    if (keyProblem !== undefined) this.invalid(keyToken, `invalid label key ${quoteLiteral(key)}`, keyProblem);

    const ahead = this.peek();
    const bare = ahead.kind === 'end' || ahead.kind === 'comma';
    if (negated) {
      if (!bare) this.fail(ahead, `',' or end of string (${quoteLiteral(`!${key}`)} takes no operator or value)`);
      return { key, operator: 'DoesNotExist', values: [] };
    }
    if (bare) return { key, operator: 'Exists', values: [] };

    const operatorToken = this.next();
    const operator = binaryOperator(operatorToken.kind);
    if (operator === undefined) this.fail(operatorToken, `${OPERATORS_EXPECTED} after key ${quoteLiteral(key)}`);
    const valueTokens =
      operator === 'In' || operator === 'NotIn'
        ? this.parseValueSet(operatorToken)
        : [this.parseExactValue(operatorToken)];
    this.validateValues(key, operatorToken, valueTokens);
    const values = [...new Set(valueTokens.map((token) => token.literal))].sort(compareStrings);
    return { key, operator, values };
  }

  private parseExactValue(operatorToken: Token): Token {
    const ahead = this.peek();
    if (ahead.kind === 'end' || ahead.kind === 'comma') return emptyValueAt(ahead);
    const token = this.next();
    if (valueKind(token) !== 'identifier') this.fail(token, `a value after '${operatorToken.literal}'`);
    return token;
  }

  private parseValueSet(operatorToken: Token): Token[] {
    const open = this.next();
    if (open.kind !== 'openParen') this.fail(open, `'(' after '${operatorToken.literal}'`);
    const first = this.peek();
    switch (valueKind(first)) {
      case 'closeParen':
        this.next();
        return [emptyValueAt(first)];
      case 'identifier':
      case 'comma': {
        const values = this.parseValueList();
        this.next();
        return values;
      }
      default:
        return this.fail(first, "a value, ',' or ')'");
    }
  }

  /**
   * Kube's list grammar, quirks included: an empty value may stand at either end or between
   * commas (`(,a)`, `(a,)`, `(a,,b)`), yet `(a,,)` is refused.
   */
  private parseValueList(): Token[] {
    const values: Token[] = [];
    const distinct = new Set<string>();
    const add = (token: Token): void => {
      values.push(token);
      distinct.add(token.literal);
      if (distinct.size > MAX_SELECTOR_SET_VALUES) {
        this.fail(token, `at most ${MAX_SELECTOR_SET_VALUES} values in a set`, 'too many values');
      }
    };
    while (true) {
      const token = this.next();
      const kind = valueKind(token);
      if (kind === 'identifier') {
        add(token);
        const ahead = this.peek();
        if (ahead.kind === 'closeParen') return values;
        if (ahead.kind !== 'comma') this.fail(ahead, "',' or ')' in the value list");
      } else if (kind === 'comma') {
        if (values.length === 0) add(emptyValueAt(token));
        const ahead = this.peek();
        if (ahead.kind === 'closeParen') {
          add(emptyValueAt(ahead));
          return values;
        }
        if (ahead.kind === 'comma') add(emptyValueAt(this.next()));
      } else {
        this.fail(token, "a value or ','");
      }
    }
  }

  private validateValues(key: string, operatorToken: Token, valueTokens: readonly Token[]): void {
    const comparison = operatorToken.kind === 'greaterThan' || operatorToken.kind === 'lessThan';
    for (const token of valueTokens) {
      const what = `invalid value ${quoteLiteral(token.literal)} for key ${quoteLiteral(key)}`;
      // Kube accepts a signed integer here, but a label value cannot start with a sign.
      if (comparison && (!/^[0-9]/.test(token.literal) || parseInt64(token.literal) === undefined)) {
        this.invalid(
          token,
          what,
          `'${operatorToken.literal}' compares with a non-negative integer no larger than ${INT64_MAX}`,
        );
      }
      const problem = labelValueProblem(token.literal);
      if (problem !== undefined) this.invalid(token, what, problem);
    }
  }

  private peek(): Token {
    return this.tokenAt(this.position);
  }

  private next(): Token {
    const token = this.tokenAt(this.position);
    if (token.kind !== 'end') this.position++;
    return token;
  }

  private tokenAt(index: number): Token {
    const token = this.tokens[Math.min(index, this.tokens.length - 1)];
    if (token === undefined) throw ApiError.internal('selector lexer produced no end token');
    return token;
  }

  private fail(token: Token, expected: string, found = `found ${describeToken(token)}`): never {
    throw ApiError.badRequest(
      `unable to parse label selector ${quoteSelector(this.text)}: ${found} at column ${token.offset + 1}, expected ${expected}`,
    );
  }

  private invalid(token: Token, what: string, problem: string): never {
    throw ApiError.badRequest(
      `unable to parse label selector ${quoteSelector(this.text)}: ${what} at column ${token.offset + 1}: ${problem}`,
    );
  }
}

function startsRequirement(token: Token): boolean {
  const kind = valueKind(token);
  return kind === 'identifier' || kind === 'not';
}

function emptyValueAt(token: Token): Token {
  return { kind: 'identifier', literal: '', offset: token.offset };
}

function binaryOperator(kind: TokenKind): Operator | undefined {
  switch (kind) {
    case 'equals':
    case 'doubleEquals':
      return 'Equals';
    case 'notEquals':
      return 'NotEquals';
    case 'in':
      return 'In';
    case 'notin':
      return 'NotIn';
    case 'greaterThan':
      return 'GreaterThan';
    case 'lessThan':
      return 'LessThan';
    default:
      return undefined;
  }
}
