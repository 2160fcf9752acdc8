/** A series: epoch-second timestamp → value. */
export type Series = Map<number, number>;

type Operand = number | Series | Series[];

/**
 * Just enough CloudWatch metric math for the double: numbers, query Ids, + - * / with the usual
 * precedence, parentheses, METRICS() (every MetricStat series of the request) and SUM(list).
 * Series combine on common timestamps, as CloudWatch aligns them.
 */
export function evaluateExpression(
  expression: string,
  byId: ReadonlyMap<string, Series>,
  all: readonly Series[],
): Series {
  const tokens = expression.match(/\s*([0-9]+(?:\.[0-9]+)?|[A-Za-z_][A-Za-z0-9_]*|[-+*/(),])/g)?.map((t) => t.trim());
  if (!tokens || tokens.join('') !== expression.replace(/\s+/g, '')) throw new Error('Unrecognized token');
  let position = 0;
  const peek = (): string | undefined => tokens[position];
  const next = (): string => {
    const token = tokens[position++];
    if (token === undefined) throw new Error('Unexpected end of expression');
    return token;
  };

  const primary = (): Operand => {
    const token = next();
    if (token === '(') {
      const value = sum();
      if (next() !== ')') throw new Error('Expected )');
      return value;
    }
    if (/^[0-9]/.test(token)) return Number(token);
    if (peek() === '(') {
      next();
      const argument = peek() === ')' ? undefined : sum();
      if (next() !== ')') throw new Error('Expected )');
      if (token === 'METRICS') return [...all];
      if (token === 'SUM' && Array.isArray(argument)) return combineAll(argument);
      throw new Error(`Unsupported function ${token}`);
    }
    const series = byId.get(token);
    if (!series) throw new Error(`Unknown metric id ${token}`);
    return series;
  };
  const product = (): Operand => {
    let left = primary();
    while (peek() === '*' || peek() === '/') left = apply(next(), left, primary());
    return left;
  };
  const sum = (): Operand => {
    let left = product();
    while (peek() === '+' || peek() === '-') left = apply(next(), left, product());
    return left;
  };

  const result = sum();
  if (position !== tokens.length) throw new Error(`Unexpected ${peek()}`);
  if (typeof result === 'number' || Array.isArray(result)) throw new Error('The expression must return a time series');
  return result;
}

function apply(operator: string, left: Operand, right: Operand): Series {
  const op = (a: number, b: number): number =>
    operator === '+' ? a + b : operator === '-' ? a - b : operator === '*' ? a * b : a / b;
  if (Array.isArray(left) || Array.isArray(right)) throw new Error('Arithmetic on a list of series');
  if (typeof left === 'number' && typeof right === 'number') return new Map([[0, op(left, right)]]);
  if (typeof left === 'number') return new Map([...(right as Series)].map(([t, v]) => [t, op(left, v)]));
  if (typeof right === 'number') return new Map([...left].map(([t, v]) => [t, op(v, right)]));
  return new Map([...left].filter(([t]) => right.has(t)).map(([t, v]) => [t, op(v, right.get(t) ?? 0)]));
}

function combineAll(list: readonly Series[]): Series {
  const out: Series = new Map();
  for (const series of list) for (const [t, v] of series) out.set(t, (out.get(t) ?? 0) + v);
  return out;
}
