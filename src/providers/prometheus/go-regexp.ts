import type { Re2Match } from '../../lib/re2.js';

/**
 * prometheus-adapter's `name.as` is expanded by Go's Regexp.Expand (its `seriesFilters` and
 * `name.matches` run on RE2, src/lib/re2.ts). This reproduces Expand exactly, so a config names
 * its metrics here as it did there.
 */

/**
 * Go's Regexp.ExpandString: `$1`, `${1}`, `$name`, `${name}`, `$$`. A name is the longest run of
 * letters, digits and underscores, so `$1_total` names the (missing) group "1_total" and expands
 * to nothing — the reason configs write `${1}_total`. A malformed reference keeps its `$`.
 */
export function expandGoTemplate(template: string, match: Re2Match): string {
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

function groupValue(match: Re2Match, name: string): string {
  // Go reads a number with a leading zero as a group name, which never exists.
  if (/^(0|[1-9][0-9]*)$/.test(name)) return match[Number(name)] ?? '';
  return match.groups?.[name] ?? '';
}
