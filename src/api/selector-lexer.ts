import { clip } from '../lib/text.js';

/**
 * The lexical layer of Kubernetes label selectors: tokens split the way
 * k8s.io/apimachinery/pkg/labels does (identifiers run until whitespace or a special symbol;
 * `in` / `notin` are keywords only where an operator may stand), and the rules a label key
 * and a label value must follow.
 */
export type TokenKind =
  | 'end'
  | 'identifier'
  | 'in'
  | 'notin'
  | 'openParen'
  | 'closeParen'
  | 'comma'
  | 'not'
  | 'equals'
  | 'doubleEquals'
  | 'notEquals'
  | 'greaterThan'
  | 'lessThan';

export interface Token {
  kind: TokenKind;
  literal: string;
  /** Zero-based index of the token's first character in the selector text. */
  offset: number;
}

const SYMBOLS: ReadonlyMap<string, TokenKind> = new Map<string, TokenKind>([
  ['(', 'openParen'],
  [')', 'closeParen'],
  [',', 'comma'],
  ['!', 'not'],
  ['=', 'equals'],
  ['==', 'doubleEquals'],
  ['!=', 'notEquals'],
  ['>', 'greaterThan'],
  ['<', 'lessThan'],
]);

const KEYWORDS: ReadonlyMap<string, TokenKind> = new Map<string, TokenKind>([
  ['in', 'in'],
  ['notin', 'notin'],
]);

/** Kubernetes treats only these four as whitespace; anything else is part of an identifier. */
function isWhitespace(ch: string): boolean {
  return ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n';
}

function isSpecialSymbol(ch: string): boolean {
  return '=!(),><'.includes(ch);
}

/** Splits selector text into tokens; the last token is always `end`. Never throws. */
export function lexSelector(text: string): Token[] {
  const tokens: Token[] = [];
  let pos = 0;
  while (true) {
    while (pos < text.length && isWhitespace(text.charAt(pos))) pos++;
    if (pos >= text.length) {
      tokens.push({ kind: 'end', literal: '', offset: text.length });
      return tokens;
    }
    const ch = text.charAt(pos);
    if (isSpecialSymbol(ch)) {
      // Longest match, as kube's scanner: '==' and '!=' win over '=' and '!'.
      const pair = text.slice(pos, pos + 2);
      const pairKind = SYMBOLS.get(pair);
      const literal = pairKind === undefined ? ch : pair;
      tokens.push({ kind: pairKind ?? SYMBOLS.get(ch) ?? 'identifier', literal, offset: pos });
      pos += literal.length;
      continue;
    }
    const start = pos;
    while (pos < text.length && !isWhitespace(text.charAt(pos)) && !isSpecialSymbol(text.charAt(pos))) {
      pos++;
    }
    const literal = text.slice(start, pos);
    tokens.push({ kind: KEYWORDS.get(literal) ?? 'identifier', literal, offset: start });
  }
}

/** Error messages show at most this much of one token. */
const QUOTED_LITERAL_LIMIT = 64;

/** A key, value or other literal as an error message shows it. */
export function quoteLiteral(literal: string): string {
  return `'${clip(literal, QUOTED_LITERAL_LIMIT)}'`;
}

/** How a token reads in an error message. */
export function describeToken(token: Token): string {
  return token.kind === 'end' ? 'end of string' : quoteLiteral(token.literal);
}

const MAX_KEY_PREFIX_LENGTH = 253;
const MAX_KEY_NAME_LENGTH = 63;
const MAX_VALUE_LENGTH = 63;

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** Why `key` is not a label key (optional DNS-subdomain prefix and '/', then a name), or undefined. */
export function labelKeyProblem(key: string): string | undefined {
  const parts = key.split('/');
  if (parts.length > 2) return "a key may contain at most one '/', between prefix and name";
  const [prefix, name] = parts.length === 2 ? parts : [undefined, parts[0]];
  if (prefix !== undefined) {
    if (prefix === '') return "the prefix before '/' must not be empty";
    if (prefix.length > MAX_KEY_PREFIX_LENGTH) {
      return `the prefix must be at most ${MAX_KEY_PREFIX_LENGTH} characters (it has ${prefix.length})`;
    }
    if (!DNS_SUBDOMAIN.test(prefix)) {
      return "the prefix must be a DNS subdomain: lowercase alphanumerics, '-' and '.', each dot-separated part starting and ending with an alphanumeric (e.g. 'example.com')";
    }
  }
  if (name === undefined || name === '') return 'the name part must not be empty';
  if (name.length > MAX_KEY_NAME_LENGTH) {
    return `the name part must be at most ${MAX_KEY_NAME_LENGTH} characters (it has ${name.length})`;
  }
  if (!QUALIFIED_NAME.test(name)) {
    return "the name part must consist of alphanumerics, '-', '_' or '.', and start and end with an alphanumeric (e.g. 'MyName', 'my.name', '123-abc')";
  }
  return undefined;
}

/** Why `value` is not a label value, or undefined. */
export function labelValueProblem(value: string): string | undefined {
  if (value.length > MAX_VALUE_LENGTH) {
    return `a value must be at most ${MAX_VALUE_LENGTH} characters (it has ${value.length})`;
  }
  if (!LABEL_VALUE.test(value)) {
    return "a value must be empty or consist of alphanumerics, '-', '_' or '.', and start and end with an alphanumeric";
  }
  return undefined;
}
