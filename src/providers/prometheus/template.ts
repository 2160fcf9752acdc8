import {
  compareBytes,
  escapeHtml,
  escapeJs,
  escapeQuery,
  formatValue,
  type GoValue,
  goTypeName,
  isGoMap,
  isGoStruct,
  sprint,
  sprintf,
  sprintln,
} from './go-format.js';
import { type Command, type Node, type Operand, type Pipe, parseTemplate, TemplateError } from './template-parse.js';

export type { GoStruct, GoValue } from './go-format.js';
export { TemplateError } from './template-error.js';

/**
 * Go's text/template with prometheus-adapter's `<<` `>>` delimiters, written for the rule
 * templates: `metricsQuery` (over .Series, .LabelMatchers, .LabelValuesByName, .GroupBy,
 * .GroupBySlice) and `resources.template` (over .Group, .Resource). Missing struct fields are
 * errors, missing map keys print `<no value>` (and `index` gives ""), as in Go. A template keeps no
 * state between executions: one compiled template may serve many rules.
 */
export interface Template {
  readonly source: string;
  /** Throws TemplateError when the data does not fit the template (a missing field, a bad index). */
  execute(data: GoValue): string;
}

export function compileTemplate(source: string): Template {
  const nodes = parseTemplate(source);
  return { source, execute: (data) => new Execution(source, data).run(nodes) };
}

type Scope = Map<string, GoValue>;

class LoopSignal {
  constructor(readonly kind: 'break' | 'continue') {}
}

class Execution {
  private out = '';
  private readonly scopes: Scope[];

  constructor(
    private readonly source: string,
    root: GoValue,
  ) {
    this.scopes = [new Map([['$', root]])];
  }

  run(nodes: readonly Node[]): string {
    this.walkList(nodes, this.lookup('$', 0));
    return this.out;
  }

  private walkList(nodes: readonly Node[], dot: GoValue): void {
    for (const node of nodes) this.walk(node, dot);
  }

  private walk(node: Node, dot: GoValue): void {
    switch (node.kind) {
      case 'text':
        this.out += node.text;
        return;
      case 'action': {
        const value = this.evalPipe(node.pipe, dot);
        if (node.pipe.vars.length === 0) this.out += formatValue(value);
        return;
      }
      case 'if':
      case 'with':
        this.inScope(() => {
          const value = this.evalPipe(node.pipe, dot);
          if (truth(value)) this.walkList(node.list, node.kind === 'with' ? value : dot);
          else if (node.elseList) this.walkList(node.elseList, dot);
        });
        return;
      case 'range':
        this.inScope(() => this.walkRange(node.pipe, node.list, node.elseList, dot));
        return;
      case 'break':
      case 'continue':
        throw new LoopSignal(node.kind);
    }
  }

  private walkRange(pipe: Pipe, list: readonly Node[], elseList: readonly Node[] | undefined, dot: GoValue): void {
    const collection = this.evalPipe({ ...pipe, vars: [] }, dot);
    let entries: [GoValue, GoValue][];
    if (Array.isArray(collection)) entries = collection.map((item: GoValue, i) => [i, item]);
    else if (isGoMap(collection))
      entries = [...collection.keys()].sort(compareBytes).map((k) => [k, collection.get(k)]);
    else if (collection === null || collection === undefined) entries = [];
    else if (typeof collection === 'number' && Number.isInteger(collection)) {
      entries = Array.from({ length: Math.max(collection, 0) }, (_, i) => [i, i]);
    } else {
      throw this.error(pipe.pos, `range can't iterate over ${formatValue(collection)}`);
    }
    if (entries.length === 0) {
      if (elseList) this.walkList(elseList, dot);
      return;
    }
    for (const [key, item] of entries) {
      const scope = this.current();
      if (pipe.vars.length === 1) scope.set(pipe.vars[0] ?? '', item);
      if (pipe.vars.length === 2) {
        scope.set(pipe.vars[0] ?? '', key);
        scope.set(pipe.vars[1] ?? '', item);
      }
      try {
        this.inScope(() => this.walkList(list, item));
      } catch (signal) {
        if (!(signal instanceof LoopSignal)) throw signal;
        if (signal.kind === 'break') break;
      }
    }
  }

  private inScope(body: () => void): void {
    this.scopes.push(new Map());
    try {
      body();
    } finally {
      this.scopes.pop();
    }
  }

  private current(): Scope {
    return this.scopes[this.scopes.length - 1] as Scope;
  }

  private lookup(name: string, pos: number): GoValue {
    for (let i = this.scopes.length - 1; i >= 0; i--) {
      const scope = this.scopes[i] as Scope;
      if (scope.has(name)) return scope.get(name);
    }
    throw this.error(pos, `undefined variable: ${name}`);
  }

  private evalPipe(pipe: Pipe, dot: GoValue): GoValue {
    let value: GoValue;
    pipe.commands.forEach((command, i) => {
      value = this.evalCommand(command, dot, i === 0 ? [] : [value]);
    });
    for (const name of pipe.vars) {
      if (!pipe.assign) {
        this.current().set(name, value);
        continue;
      }
      const owner = [...this.scopes].reverse().find((scope) => scope.has(name));
      if (!owner) throw this.error(pipe.pos, `undefined variable: ${name}`);
      owner.set(name, value);
    }
    return value;
  }

  private evalCommand(command: Command, dot: GoValue, piped: GoValue[]): GoValue {
    const [first, ...rest] = command.args;
    if (first === undefined) throw this.error(command.pos, 'empty command');
    if (first.kind === 'function') return this.call(first.name, rest, piped, dot, command.pos);
    if (rest.length > 0 || piped.length > 0) {
      throw this.error(command.pos, `can't give argument to non-function ${describeOperand(first)}`);
    }
    return this.evalOperand(first, dot, command.pos);
  }

  private evalOperand(operand: Operand, dot: GoValue, pos: number): GoValue {
    switch (operand.kind) {
      case 'literal':
        return operand.value;
      case 'field':
        return this.fieldChain(dot, operand.chain, pos);
      case 'variable':
        return this.fieldChain(this.lookup(operand.name, pos), operand.chain, pos);
      case 'pipe':
        return this.inScopeValue(() => this.fieldChain(this.evalPipe(operand.pipe, dot), operand.chain, pos));
      case 'function':
        return this.call(operand.name, [], [], dot, pos);
    }
  }

  private inScopeValue(body: () => GoValue): GoValue {
    let value: GoValue;
    this.inScope(() => {
      value = body();
    });
    return value;
  }

  private fieldChain(receiver: GoValue, chain: readonly string[], pos: number): GoValue {
    let value = receiver;
    for (const field of chain) {
      if (isGoMap(value)) value = value.get(field);
      else if (isGoStruct(value) && Object.hasOwn(value, field)) value = value[field];
      else if (value === undefined || value === null) throw this.error(pos, `nil pointer evaluating .${field}`);
      else throw this.error(pos, `can't evaluate field ${field} in type ${goTypeName(value)}`);
    }
    return value;
  }

  private call(name: string, operands: readonly Operand[], piped: GoValue[], dot: GoValue, pos: number): GoValue {
    const arg = (i: number): GoValue => {
      if (i < operands.length) return this.evalOperand(operands[i] as Operand, dot, pos);
      return piped[i - operands.length];
    };
    const count = operands.length + piped.length;
    const all = (): GoValue[] => Array.from({ length: count }, (_, i) => arg(i));
    const want = (n: number): void => {
      if (count !== n) throw this.error(pos, `wrong number of args for ${name}: want ${n} got ${count}`);
    };
    switch (name) {
      case 'and':
      case 'or': {
        if (count === 0) throw this.error(pos, `wrong number of args for ${name}: want at least 1 got 0`);
        let value: GoValue;
        for (let i = 0; i < count; i++) {
          value = arg(i);
          if (truth(value) === (name === 'or')) return value;
        }
        return value;
      }
      case 'not':
        want(1);
        return !truth(arg(0));
      case 'len':
        want(1);
        return this.length(arg(0), pos);
      case 'index':
        return this.index(all(), pos);
      case 'slice':
        return this.slice(all(), pos);
      case 'eq':
      case 'ne':
      case 'lt':
      case 'le':
      case 'gt':
      case 'ge':
        return this.compare(name, all(), pos);
      case 'print':
        return sprint(all());
      case 'println':
        return sprintln(all());
      case 'printf': {
        const [format, ...rest] = all();
        if (typeof format !== 'string') throw this.error(pos, 'printf needs a format string');
        return sprintf(format, rest);
      }
      case 'html':
        return escapeHtml(sprint(all()));
      case 'js':
        return escapeJs(sprint(all()));
      case 'urlquery':
        return escapeQuery(sprint(all()));
      default:
        throw this.error(pos, `function ${JSON.stringify(name)} not defined`);
    }
  }

  private length(value: GoValue, pos: number): number {
    if (typeof value === 'string') return Buffer.byteLength(value, 'utf8');
    if (Array.isArray(value)) return value.length;
    if (isGoMap(value)) return value.size;
    throw this.error(pos, `len of type ${goTypeName(value)}`);
  }

  private index(args: GoValue[], pos: number): GoValue {
    const [collection, ...keys] = args;
    if (args.length === 0) throw this.error(pos, 'wrong number of args for index: want at least 1 got 0');
    let value = collection;
    for (const key of keys) {
      if (isGoMap(value)) {
        if (typeof key !== 'string')
          throw this.error(pos, `error calling index: value has type ${goTypeName(key)}; should be string`);
        value = value.has(key) ? value.get(key) : '';
      } else if (Array.isArray(value) || typeof value === 'string') {
        const items = typeof value === 'string' ? [...Buffer.from(value, 'utf8')] : value;
        if (typeof key !== 'number' || !Number.isInteger(key))
          throw this.error(pos, `error calling index: cannot index slice/array with type ${goTypeName(key)}`);
        if (key < 0 || key >= items.length) throw this.error(pos, `error calling index: index out of range: ${key}`);
        value = items[key];
      } else if (value === null || value === undefined) {
        throw this.error(pos, 'error calling index: index of untyped nil');
      } else {
        throw this.error(pos, `error calling index: can't index item of type ${goTypeName(value)}`);
      }
    }
    return value;
  }

  private slice(args: GoValue[], pos: number): GoValue {
    const [collection, ...bounds] = args;
    if (typeof collection !== 'string' && !Array.isArray(collection)) {
      throw this.error(pos, `error calling slice: can't slice item of type ${goTypeName(collection)}`);
    }
    const length = typeof collection === 'string' ? Buffer.byteLength(collection, 'utf8') : collection.length;
    if (bounds.length > 2) throw this.error(pos, 'error calling slice: too many slice indexes');
    const [from = 0, to = length] = bounds;
    if (typeof from !== 'number' || typeof to !== 'number' || from < 0 || to > length || from > to) {
      throw this.error(pos, `error calling slice: invalid slice index: ${formatValue(from)} > ${formatValue(to)}`);
    }
    if (typeof collection === 'string') return Buffer.from(collection, 'utf8').subarray(from, to).toString('utf8');
    return collection.slice(from, to);
  }

  private compare(name: string, args: GoValue[], pos: number): boolean {
    const [left, ...rights] = args;
    if (args.length < 2) throw this.error(pos, `missing argument for comparison`);
    if (name !== 'eq' && rights.length !== 1)
      throw this.error(pos, `wrong number of args for ${name}: want 2 got ${args.length}`);
    const comparable = (v: GoValue) =>
      typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' || v === null;
    for (const right of rights) {
      if (!comparable(left) || !comparable(right))
        throw this.error(pos, `error calling ${name}: invalid type for comparison`);
      if (left !== null && right !== null && typeof left !== typeof right) {
        throw this.error(pos, `error calling ${name}: incompatible types for comparison`);
      }
    }
    const right = rights[0] as string | number | boolean | null;
    const ordered = left as string | number;
    switch (name) {
      case 'eq':
        return rights.some((r) => r === left);
      case 'ne':
        return left !== right;
      default:
        if (typeof left === 'boolean' || left === null)
          throw this.error(pos, `error calling ${name}: invalid type for comparison`);
        if (name === 'lt') return ordered < (right as string | number);
        if (name === 'le') return ordered <= (right as string | number);
        if (name === 'gt') return ordered > (right as string | number);
        return ordered >= (right as string | number);
    }
  }

  private error(pos: number, message: string): TemplateError {
    const before = this.source.slice(0, pos);
    const line = before.split('\n').length;
    return new TemplateError(`${message} (line ${line}, column ${pos - before.lastIndexOf('\n')})`);
  }
}

/** Go's truth: false, 0, nil, "no value" and empty strings, slices and maps are false. */
function truth(value: GoValue): boolean {
  if (value === undefined || value === null || value === false || value === 0 || value === '') return false;
  if (Array.isArray(value)) return value.length > 0;
  if (isGoMap(value)) return value.size > 0;
  return true;
}

function describeOperand(operand: Operand): string {
  if (operand.kind === 'field') return operand.chain.length === 0 ? '.' : `.${operand.chain.join('.')}`;
  if (operand.kind === 'variable') return operand.name;
  if (operand.kind === 'literal') return formatValue(operand.value);
  return 'pipeline';
}
