/**
 * prometheus-adapter's `seriesFilters` and `name.matches` are Go (RE2) regular expressions and
 * `name.as` is expanded by Go's Regexp.Expand. This translates the RE2 spellings JavaScript lacks
 * and reproduces Expand exactly, so a config names its metrics here as it did there.
 */

const POSIX_CLASSES: Record<string, string> = {
  alnum: '0-9A-Za-z',
  alpha: 'A-Za-z',
  ascii: '\\x00-\\x7F',
  blank: '\\t ',
  cntrl: '\\x00-\\x1F\\x7F',
  digit: '0-9',
  graph: '!-~',
  lower: 'a-z',
  print: ' -~',
  punct: '!-\\/:-@\\[-`{-~',
  space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z',
  word: '0-9A-Za-z_',
  xdigit: '0-9A-Fa-f',
};

export class GoRegexpError extends Error {}

/** Compiles an RE2 pattern as a JavaScript RegExp with the same matches for the syntax configs use. */
export function compileGoRegexp(pattern: string): RegExp {
  let flags = '';
  let body = pattern;
  const leading = /^\(\?([imsU]+)\)/.exec(body);
  if (leading) {
    const goFlags = leading[1] ?? '';
    if (goFlags.includes('U'))
      throw new GoRegexpError(`the ungreedy flag (?U) is not supported in ${JSON.stringify(pattern)}`);
    flags = [...new Set(goFlags)].join('');
    body = body.slice(leading[0].length);
  }
  const translated = translate(body, pattern);
  if (/\\[pP]/.test(translated)) flags += 'u';
  try {
    return new RegExp(translated, flags);
  } catch (error) {
    throw new GoRegexpError(`invalid regular expression ${JSON.stringify(pattern)}: ${(error as Error).message}`);
  }
}

function translate(body: string, original: string): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < body.length; i++) {
    const char = body[i];
    if (char === '\\') {
      const next = body[i + 1] ?? '';
      if (next === 'Q') {
        const end = body.indexOf('\\E', i + 2);
        const literal = end === -1 ? body.slice(i + 2) : body.slice(i + 2, end);
        out += literal.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
        i = end === -1 ? body.length : end + 1;
      } else if (next === 'z' && !inClass) {
        out += '$';
        i++;
      } else if (next === 'A' && !inClass) {
        out += '^';
        i++;
      } else if ((next === 'p' || next === 'P') && body[i + 2] !== '{') {
        out += `\\${next}{${body[i + 2] ?? ''}}`;
        i += 2;
      } else {
        out += char + next;
        i++;
      }
    } else if (inClass) {
      const posix = /^\[:(\^?)([a-z]+):\]/.exec(body.slice(i));
      if (posix) {
        const range = POSIX_CLASSES[posix[2] ?? ''];
        if (range === undefined || posix[1] === '^') {
          throw new GoRegexpError(`unsupported character class ${posix[0]} in ${JSON.stringify(original)}`);
        }
        out += range;
        i += posix[0].length - 1;
      } else {
        if (char === ']') inClass = false;
        out += char;
      }
    } else if (char === '[') {
      inClass = true;
      out += char;
      // A leading ']' (or '^]') is a literal in RE2 but ends an empty class in JavaScript.
      if (body[i + 1] === '^') {
        out += '^';
        i++;
      }
      if (body[i + 1] === ']') {
        out += '\\]';
        i++;
      }
    } else if (char === '(' && body.startsWith('(?P<', i)) {
      out += '(?<';
      i += 3;
    } else if (char === '(' && /^\(\?[imsU-]+[):]/.test(body.slice(i))) {
      throw new GoRegexpError(
        `inline flags are supported only at the start of the pattern in ${JSON.stringify(original)}`,
      );
    } else {
      out += char;
    }
  }
  return out;
}

/** Number of capture groups, as Go's NumSubexp counts them. */
export function captureGroupCount(regexp: RegExp): number {
  return (new RegExp(`${regexp.source}|`, regexp.flags.replace(/[gy]/g, '')).exec('')?.length ?? 1) - 1;
}

/**
 * Go's Regexp.ExpandString: `$1`, `${1}`, `$name`, `${name}`, `$$`. A name is the longest run of
 * letters, digits and underscores, so `$1_total` names the (missing) group "1_total" and expands
 * to nothing — the reason configs write `${1}_total`. A malformed reference keeps its `$`.
 */
export function expandGoTemplate(template: string, match: RegExpExecArray): string {
  let out = '';
  let i = 0;
  while (i < template.length) {
    const dollar = template.indexOf('$', i);
    if (dollar === -1) {
      out += template.slice(i);
      break;
    }
    out += template.slice(i, dollar);
    if (template[dollar + 1] === '$') {
      out += '$';
      i = dollar + 2;
      continue;
    }
    const reference = extractReference(template, dollar + 1);
    if (reference === undefined) {
      out += '$';
      i = dollar + 1;
      continue;
    }
    out += groupValue(match, reference.name);
    i = reference.end;
  }
  return out;
}

function extractReference(template: string, start: number): { name: string; end: number } | undefined {
  const braced = template[start] === '{';
  const from = braced ? start + 1 : start;
  let end = from;
  while (end < template.length && /[\p{L}\p{Nd}_]/u.test(template[end] ?? '')) end++;
  if (end === from) return undefined;
  if (braced) {
    if (template[end] !== '}') return undefined;
    return { name: template.slice(from, end), end: end + 1 };
  }
  return { name: template.slice(from, end), end };
}

function groupValue(match: RegExpExecArray, name: string): string {
  // Go reads a number with a leading zero as a group name, which never exists.
  if (/^(0|[1-9][0-9]*)$/.test(name)) return match[Number(name)] ?? '';
  return match.groups?.[name] ?? '';
}
