import type { SyntaxNode } from '@lezer/common';
import { parser } from '@prometheus-io/lezer-promql';
import { clip } from '../lib/text.js';

/**
 * A team's PromQL with its namespace enforced, as prom-label-proxy enforces a label: every
 * vector selector (a matrix selector's too, inside subqueries and functions alike) gets
 * `<label>="<namespace>"` added, so the query reads only that namespace's series. The query is
 * parsed with the Prometheus project's own grammar (lezer-promql); what it refuses, this refuses.
 * A selector that already names the label is refused unless it asks exactly for the namespace
 * itself (`="<namespace>"`), since any other matcher on it would read, or try to read, another.
 */
export interface EnforcedQuery {
  /** The query as it runs with no selector matchers: the namespace injected everywhere. */
  readonly text: string;
  /** The query with `matchers` (PromQL matchers such as `queue="jobs"`, comma-joined) added beside the namespace. */
  render(matchers: string): string;
  /** The query with `inner` alone at every selector (a template placeholder that brings the namespace itself). */
  splice(inner: string): string;
}

export class QueryInvalidError extends Error {}

/** Where a selector gets its matchers: inside its existing braces, or in new ones after its name. */
interface Insertion {
  at: number;
  kind: 'open' | 'openEmpty' | 'noBraces';
}

export function enforceNamespace(query: string, label: string, namespace: string): EnforcedQuery {
  const tree = parser.parse(query);
  tree.iterate({
    enter(ref) {
      if (!ref.type.isError) return undefined;
      const near = clip(query.slice(ref.from), 40) || 'the end of the query';
      throw new QueryInvalidError(`PromQL syntax error at character ${ref.from + 1}, near: ${near}`);
    },
  });
  const insertions: Insertion[] = [];
  const problems: string[] = [];
  tree.iterate({
    enter(ref) {
      if (ref.name !== 'VectorSelector') return undefined;
      const node = ref.node;
      const matchers = node.getChild('LabelMatchers');
      if (!matchers) {
        insertions.push({ at: node.to, kind: 'noBraces' });
        return false;
      }
      for (const matcher of childMatchers(matchers)) {
        const problem = namespaceMatcherProblem(query, matcher, label, namespace);
        if (problem) problems.push(problem);
      }
      const empty = query.slice(matchers.from + 1, matchers.to - 1).trim() === '';
      insertions.push({ at: matchers.from + 1, kind: empty ? 'openEmpty' : 'open' });
      return false;
    },
  });
  if (problems.length > 0) throw new QueryInvalidError(problems[0]);
  if (insertions.length === 0) {
    throw new QueryInvalidError(
      'the query reads no series (no vector selector), so there is nothing to scope to the namespace',
    );
  }
  insertions.sort((a, b) => a.at - b.at);
  const own = `${label}=${JSON.stringify(namespace)}`;
  const splice = (inner: string): string => {
    let out = '';
    let last = 0;
    for (const { at, kind } of insertions) {
      out += query.slice(last, at);
      out += kind === 'noBraces' ? `{${inner}}` : kind === 'openEmpty' ? inner : `${inner},`;
      last = at;
    }
    return out + query.slice(last);
  };
  const render = (extra: string): string => splice(extra === '' ? own : `${own},${extra}`);
  return { text: render(''), render, splice };
}

function childMatchers(matchers: SyntaxNode): SyntaxNode[] {
  const found: SyntaxNode[] = [];
  for (let child = matchers.firstChild; child; child = child.nextSibling) {
    if (child.name === 'UnquotedLabelMatcher' || child.name === 'QuotedLabelMatcher') found.push(child);
  }
  return found;
}

/** Why a matcher that names the namespace label is refused; undefined when it is another label's or asks for `namespace` itself. */
function namespaceMatcherProblem(
  query: string,
  matcher: SyntaxNode,
  label: string,
  namespace: string,
): string | undefined {
  const nameNode = matcher.getChild('LabelName') ?? matcher.getChild('QuotedLabelName')?.getChild('StringLiteral');
  if (!nameNode) return undefined;
  const rawName = query.slice(nameNode.from, nameNode.to);
  const name = nameNode.name === 'LabelName' ? rawName : decodeString(rawName);
  if (name === undefined) return `the label name ${clip(rawName, 80)} cannot be read`;
  if (name !== label) return undefined;
  const op = matcher.getChild('MatchOp');
  const valueNode = matcher.getChild('StringLiteral', 'MatchOp');
  const value = valueNode ? decodeString(query.slice(valueNode.from, valueNode.to)) : undefined;
  if (op?.firstChild?.name === 'EqlSingle' && value === namespace) return undefined;
  return `the query names the label "${label}" (${clip(query.slice(matcher.from, matcher.to), 80)}): a definition reads only its own namespace "${namespace}", which the adapter adds to every selector`;
}

/** A PromQL string literal's value ("…" and '…' with Go escapes, `…` raw); undefined when it cannot be read. */
function decodeString(literal: string): string | undefined {
  const quote = literal[0];
  const body = literal.slice(1, -1);
  if (quote === '`') return body;
  const asDouble = quote === "'" ? body.replace(/\\'/g, "'").replace(/"/g, '\\"') : body;
  try {
    const value: unknown = JSON.parse(`"${asDouble}"`);
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}
