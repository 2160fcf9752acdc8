import { TemplateError } from './template-error.js';

/**
 * The lexer of the `<< >>` template language: cuts the source into text and actions (applying
 * `<<-` / `->>` trimming and dropping comments) and each action into tokens.
 */
const LEFT = '<<';
const RIGHT = '>>';
/** A constant a template writes: a string, number, boolean or nil. */
export type Literal = string | number | boolean | null;

export type Token =
  | { kind: 'pipe' | 'open' | 'close' | 'declare' | 'assign' | 'comma'; pos: number }
  | { kind: 'word'; text: string; pos: number }
  | { kind: 'field'; chain: string[]; pos: number }
  | { kind: 'variable'; name: string; chain: string[]; pos: number }
  | { kind: 'literal'; value: Literal; pos: number };

export interface Action {
  tokens: Token[];
  pos: number;
}

export type Piece = { kind: 'text'; text: string } | { kind: 'action'; action: Action };

/** Cuts the source into text and actions, applying trim markers and dropping comments. */
export function splitActions(source: string): Piece[] {
  const pieces: Piece[] = [];
  let i = 0;
  let trimNextText = false;
  while (i <= source.length) {
    const open = source.indexOf(LEFT, i);
    let text = source.slice(i, open === -1 ? source.length : open);
    if (trimNextText) text = text.replace(/^[ \t\r\n]+/, '');
    trimNextText = false;
    if (open === -1) {
      if (text !== '') pieces.push({ kind: 'text', text });
      break;
    }
    let start = open + LEFT.length;
    if (/^-[ \t\r\n]/.test(source.slice(start, start + 2))) {
      text = text.replace(/[ \t\r\n]+$/, '');
      start += 1;
    }
    if (text !== '') pieces.push({ kind: 'text', text });
    const scanned = scanAction(source, start);
    trimNextText = scanned.trimRight;
    if (scanned.tokens !== undefined) pieces.push({ kind: 'action', action: { tokens: scanned.tokens, pos: open } });
    i = scanned.end;
  }
  return pieces;
}

function scanAction(source: string, start: number): { tokens: Token[] | undefined; end: number; trimRight: boolean } {
  const comment = /^[ \t\r\n]*\/\*/.exec(source.slice(start));
  if (comment) {
    const close = source.indexOf('*/', start + comment[0].length);
    if (close === -1) throw new TemplateError(`unclosed comment at ${position(source, start)}`);
    const after = source.slice(close + 2);
    const right = /^[ \t\r\n]*-?>>/.exec(after);
    if (!right) throw new TemplateError(`comment ends before closing delimiter at ${position(source, close)}`);
    return { tokens: undefined, end: close + 2 + right[0].length, trimRight: right[0].includes('-') };
  }
  const tokens: Token[] = [];
  let i = start;
  while (true) {
    if (i >= source.length) throw new TemplateError(`unclosed action starting at ${position(source, start - 2)}`);
    if (source.startsWith(RIGHT, i)) return { tokens, end: i + RIGHT.length, trimRight: false };
    if (/[ \t\r\n]/.test(source[i] ?? '')) {
      let next = i;
      while (/[ \t\r\n]/.test(source[next] ?? '')) next++;
      if (source.startsWith(`-${RIGHT}`, next)) return { tokens, end: next + 1 + RIGHT.length, trimRight: true };
      i = next;
      continue;
    }
    const token = scanToken(source, i);
    tokens.push(token.token);
    i = token.end;
  }
}

const PUNCTUATION: Record<string, 'pipe' | 'open' | 'close' | 'comma' | 'assign'> = {
  '|': 'pipe',
  '(': 'open',
  ')': 'close',
  ',': 'comma',
  '=': 'assign',
};
const IDENT = /^[\p{L}_][\p{L}\p{Nd}_]*/u;
const FIELD_CHAIN = /^(?:\.[\p{L}_][\p{L}\p{Nd}_]*)+/u;
const NUMBER =
  /^[+-]?(?:0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9][0-9_]*)(?:[eE][+-]?[0-9_]+)?)/;

function scanToken(source: string, i: number): { token: Token; end: number } {
  const rest = source.slice(i);
  const first = rest[0] ?? '';
  if (rest.startsWith(':=')) return { token: { kind: 'declare', pos: i }, end: i + 2 };
  const punctuation = PUNCTUATION[first];
  if (punctuation !== undefined) return { token: { kind: punctuation, pos: i }, end: i + 1 };
  if (first === '"' || first === '`' || first === "'") return scanQuoted(source, i);
  const number = NUMBER.exec(rest);
  if (number && (first !== '.' || /^\.[0-9]/.test(rest))) {
    return { token: { kind: 'literal', value: parseNumber(number[0], source, i), pos: i }, end: i + number[0].length };
  }
  if (first === '.') {
    const chain = FIELD_CHAIN.exec(rest);
    if (!chain) return { token: { kind: 'field', chain: [], pos: i }, end: i + 1 };
    return { token: { kind: 'field', chain: chain[0].slice(1).split('.'), pos: i }, end: i + chain[0].length };
  }
  if (first === '$') {
    const name = /^\$[\p{L}\p{Nd}_]*/u.exec(rest)?.[0] ?? '$';
    const chain = FIELD_CHAIN.exec(rest.slice(name.length))?.[0] ?? '';
    return {
      token: { kind: 'variable', name, chain: chain === '' ? [] : chain.slice(1).split('.'), pos: i },
      end: i + name.length + chain.length,
    };
  }
  const word = IDENT.exec(rest);
  if (word) {
    const literals: Record<string, Literal> = { true: true, false: false, nil: null };
    const end = i + word[0].length;
    if (Object.hasOwn(literals, word[0]))
      return { token: { kind: 'literal', value: literals[word[0]] ?? null, pos: i }, end };
    return { token: { kind: 'word', text: word[0], pos: i }, end };
  }
  throw new TemplateError(`unexpected ${JSON.stringify(first)} in action at ${position(source, i)}`);
}

function parseNumber(text: string, source: string, pos: number): number {
  const clean = text.replace(/_/g, '');
  const sign = clean.startsWith('-') ? -1 : 1;
  const unsigned = clean.replace(/^[+-]/, '');
  const value = /^0[oO]/.test(unsigned) ? Number.parseInt(unsigned.slice(2), 8) : Number(unsigned);
  if (!Number.isFinite(value))
    throw new TemplateError(`bad number syntax ${JSON.stringify(text)} at ${position(source, pos)}`);
  return sign * value;
}

function scanQuoted(source: string, i: number): { token: Token; end: number } {
  const quote = source[i];
  if (quote === '`') {
    const close = source.indexOf('`', i + 1);
    if (close === -1) throw new TemplateError(`unterminated raw string at ${position(source, i)}`);
    return { token: { kind: 'literal', value: source.slice(i + 1, close), pos: i }, end: close + 1 };
  }
  let j = i + 1;
  while (j < source.length && source[j] !== quote && source[j] !== '\n') j += source[j] === '\\' ? 2 : 1;
  if (source[j] !== quote) throw new TemplateError(`unterminated quoted string at ${position(source, i)}`);
  const body = source.slice(i + 1, j);
  const value = unquoteGo(body, source, i);
  if (quote === "'") {
    const chars = [...value];
    if (chars.length !== 1) throw new TemplateError(`malformed character constant at ${position(source, i)}`);
    return { token: { kind: 'literal', value: chars[0]?.codePointAt(0) ?? 0, pos: i }, end: j + 1 };
  }
  return { token: { kind: 'literal', value, pos: i }, end: j + 1 };
}

const SIMPLE_ESCAPES: Record<string, string> = {
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  '\\': '\\',
  '"': '"',
  "'": "'",
};

function unquoteGo(body: string, source: string, pos: number): string {
  return body.replace(/\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{3}|.)/g, (_, sequence: string) => {
    const simple = SIMPLE_ESCAPES[sequence];
    if (simple !== undefined) return simple;
    if (/^[xuU]/.test(sequence)) return String.fromCodePoint(Number.parseInt(sequence.slice(1), 16));
    if (/^[0-7]{3}$/.test(sequence)) return String.fromCharCode(Number.parseInt(sequence, 8));
    throw new TemplateError(`unknown escape sequence \\${sequence} at ${position(source, pos)}`);
  });
}

export function position(source: string, index: number): string {
  const before = source.slice(0, index);
  const line = before.split('\n').length;
  return `line ${line}, column ${index - before.lastIndexOf('\n')}`;
}
