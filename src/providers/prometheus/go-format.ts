/**
 * Go's fmt printing of template values — what `<<.GroupBySlice>>` (`[pod namespace]`),
 * `print` and `printf` produce — so a rendered query is the text prometheus-adapter renders.
 */

/** A template value: a Map is a Go map, a plain object a Go struct, an array a slice, undefined "no value". */
export type GoValue = string | number | boolean | null | undefined | readonly GoValue[] | GoMap | GoStruct;
export type GoMap = ReadonlyMap<string, GoValue>;
export interface GoStruct {
  readonly [field: string]: GoValue;
}

export function isGoMap(value: GoValue): value is GoMap {
  return value instanceof Map;
}

export function isGoStruct(value: GoValue): value is GoStruct {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Map);
}

export function goTypeName(value: GoValue): string {
  if (value === undefined) return '<no value>';
  if (value === null) return 'nil';
  if (typeof value === 'string') return 'string';
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'float64';
  if (Array.isArray(value)) return 'slice';
  return isGoMap(value) ? 'map' : 'struct';
}

/** fmt's %v. */
export function formatValue(value: GoValue): string {
  if (value === undefined) return '<no value>';
  if (value === null) return '<nil>';
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'number') return formatNumber(value);
  if (Array.isArray(value)) return `[${value.map(formatValue).join(' ')}]`;
  if (isGoMap(value)) {
    const keys = [...value.keys()].sort(compareBytes);
    return `map[${keys.map((k) => `${k}:${formatValue(value.get(k))}`).join(' ')}]`;
  }
  return `{${Object.values(value as GoStruct)
    .map(formatValue)
    .join(' ')}}`;
}

export function formatNumber(value: number): string {
  if (Number.isInteger(value) && Math.abs(value) < 2 ** 63) return BigInt(value).toString();
  return formatFloatG(value, undefined);
}

/** strconv's 'g' format: shortest digits (or `precision` significant), exponent below 1e-4 or from 1e`precision` (6 when shortest). */
function formatFloatG(value: number, precision: number | undefined): string {
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? '+Inf' : '-Inf';
  const rounded = precision === undefined ? value : Number(value.toPrecision(Math.max(precision, 1)));
  const [mantissa = '0', exponentText = '0'] = rounded.toExponential().split('e');
  const exponent = Number(exponentText);
  const digits = mantissa.replace(/[-.]/g, '').length;
  let limit = precision === undefined ? 6 : Math.max(precision, 1);
  if (precision !== undefined && limit > digits && digits >= exponent + 1) limit = digits;
  if (exponent < -4 || exponent >= limit) return `${mantissa}${goExponent(exponent)}`;
  return String(rounded);
}

function goExponent(exponent: number): string {
  return `e${exponent < 0 ? '-' : '+'}${String(Math.abs(exponent)).padStart(2, '0')}`;
}

/** fmt.Sprint: a space between operands when neither is a string. */
export function sprint(args: readonly GoValue[]): string {
  let out = '';
  args.forEach((arg, i) => {
    if (i > 0 && typeof arg !== 'string' && typeof args[i - 1] !== 'string') out += ' ';
    out += formatValue(arg);
  });
  return out;
}

export function sprintln(args: readonly GoValue[]): string {
  return `${args.map(formatValue).join(' ')}\n`;
}

const VERB = /%([-+# 0]*)(\d+)?(?:\.(\d*))?([a-zA-Z%])/g;

/** fmt.Sprintf for the verbs templates use: v s q d f F e E g G x X o b t c, with flags, width and precision. */
export function sprintf(format: string, args: readonly GoValue[]): string {
  let used = 0;
  const out = format.replace(
    VERB,
    (_whole, flags: string, width: string | undefined, precision: string | undefined, verb: string) => {
      if (verb === '%') return '%';
      if (used >= args.length) return `%!${verb}(MISSING)`;
      const arg = args[used++];
      const prec = precision === undefined ? undefined : Number(precision || '0');
      const text = formatVerb(verb, arg, flags, prec);
      if (text === undefined) return `%!${verb}(${goTypeName(arg)}=${formatValue(arg)})`;
      return pad(text, flags, width === undefined ? 0 : Number(width), typeof arg === 'number' && verb !== 'c');
    },
  );
  if (used >= args.length) return out;
  const extra = args.slice(used).map((a) => `${goTypeName(a)}=${formatValue(a)}`);
  return `${out}%!(EXTRA ${extra.join(', ')})`;
}

function formatVerb(verb: string, arg: GoValue, flags: string, precision: number | undefined): string | undefined {
  const plus = flags.includes('+') ? '+' : flags.includes(' ') ? ' ' : '';
  const signed = (n: number, text: string) => (n >= 0 && !text.startsWith('+') ? plus + text : text);
  if (verb === 'v') return formatValue(arg);
  if (typeof arg === 'string') {
    if (verb === 's') return precision === undefined ? arg : [...arg].slice(0, precision).join('');
    if (verb === 'q') return quoteGo(arg);
    if (verb === 'x' || verb === 'X') {
      const hex = Buffer.from(arg, 'utf8').toString('hex');
      return verb === 'X' ? hex.toUpperCase() : hex;
    }
    return undefined;
  }
  if (typeof arg === 'boolean') return verb === 't' ? String(arg) : undefined;
  if (Array.isArray(arg) && (verb === 's' || verb === 'q' || verb === 'd')) {
    const parts = arg.map((item: GoValue) => formatVerb(verb, item, flags, precision) ?? formatValue(item));
    return `[${parts.join(' ')}]`;
  }
  if (typeof arg !== 'number') return undefined;
  if (Number.isInteger(arg)) {
    const radix: Record<string, number> = { d: 10, x: 16, X: 16, o: 8, b: 2 };
    const base = radix[verb];
    if (base !== undefined) {
      const text = BigInt(arg).toString(base);
      return signed(arg, verb === 'X' ? text.toUpperCase() : text);
    }
    if (verb === 'c') return String.fromCodePoint(arg);
    if (verb === 'q') return `'${String.fromCodePoint(arg)}'`;
  }
  switch (verb) {
    case 'f':
    case 'F':
      return signed(arg, Number.isFinite(arg) ? arg.toFixed(precision ?? 6) : formatFloatG(arg, undefined));
    case 'e':
    case 'E': {
      if (!Number.isFinite(arg)) return signed(arg, formatFloatG(arg, undefined));
      const [mantissa = '0', exponent = '0'] = arg.toExponential(precision ?? 6).split('e');
      const text = `${mantissa}${goExponent(Number(exponent))}`;
      return signed(arg, verb === 'E' ? text.toUpperCase() : text);
    }
    case 'g':
    case 'G': {
      const text = formatFloatG(arg, precision);
      return signed(arg, verb === 'G' ? text.toUpperCase() : text);
    }
    default:
      return undefined;
  }
}

function pad(text: string, flags: string, width: number, numeric: boolean): string {
  const length = [...text].length;
  if (length >= width) return text;
  if (flags.includes('-')) return text + ' '.repeat(width - length);
  if (flags.includes('0') && numeric) {
    const sign = /^[+\- ]/.test(text) ? (text[0] ?? '') : '';
    return sign + '0'.repeat(width - length) + text.slice(sign.length);
  }
  return ' '.repeat(width - length) + text;
}

/** strconv.Quote for the printable text templates handle. */
export function quoteGo(text: string): string {
  const escapes: Record<string, string> = {
    '\x07': '\\a',
    '\b': '\\b',
    '\f': '\\f',
    '\n': '\\n',
    '\r': '\\r',
    '\t': '\\t',
    '\v': '\\v',
    '\\': '\\\\',
    '"': '\\"',
  };
  let out = '"';
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    const escaped = escapes[char];
    if (escaped !== undefined) out += escaped;
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += char;
  }
  return `${out}"`;
}

/** template.HTMLEscapeString. */
export function escapeHtml(text: string): string {
  const map: Record<string, string> = {
    '<': '&lt;',
    '>': '&gt;',
    '&': '&amp;',
    "'": '&#39;',
    '"': '&#34;',
    '\0': '\uFFFD',
  };
  return text.replace(/[<>&'"\0]/g, (c) => map[c] ?? c);
}

/** template.JSEscapeString. */
export function escapeJs(text: string): string {
  const map: Record<string, string> = { '\\': '\\\\', "'": "\\'", '"': '\\"' };
  let out = '';
  for (const c of text) {
    const code = c.codePointAt(0) ?? 0;
    const special = map[c];
    if (special !== undefined) out += special;
    else if (code < 0x20 || '<>&=`'.includes(c)) out += `\\u${code.toString(16).toUpperCase().padStart(4, '0')}`;
    else out += c;
  }
  return out;
}

/** url.QueryEscape. */
export function escapeQuery(text: string): string {
  return encodeURIComponent(text)
    .replace(/[!'()*]/g, (c) => `%${(c.codePointAt(0) ?? 0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}

/** Go orders map keys by byte; for the ASCII label names templates see it equals code-unit order. */
export function compareBytes(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
