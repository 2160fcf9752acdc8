/**
 * The parser of Go's text/template language with `<<` `>>` delimiters, as prometheus-adapter
 * compiles `metricsQuery` and `resources.template`: text, `<<pipeline>>` actions with `|` chains,
 * variables, `if`/`else if`/`with`/`range`/`break`/`continue`, comments and `<<-`/`->>` trimming.
 * `define`, `template` and `block` are refused: a rule is one template.
 */

import { TemplateError } from './template-error.js';
import { type Action, type Literal, type Piece, position, splitActions, type Token } from './template-lex.js';

export { TemplateError } from './template-error.js';

export type Operand =
  | { kind: 'field'; chain: string[] }
  | { kind: 'variable'; name: string; chain: string[] }
  | { kind: 'function'; name: string }
  | { kind: 'literal'; value: Literal }
  | { kind: 'pipe'; pipe: Pipe; chain: string[] };

export interface Command {
  args: Operand[];
  pos: number;
}

export interface Pipe {
  /** Variables declared (`:=`) or assigned (`=`) by this pipeline. */
  vars: string[];
  assign: boolean;
  commands: Command[];
  pos: number;
}

export type Node =
  | { kind: 'text'; text: string }
  | { kind: 'action'; pipe: Pipe }
  | { kind: 'if' | 'with' | 'range'; pipe: Pipe; list: Node[]; elseList: Node[] | undefined }
  | { kind: 'break' | 'continue'; pos: number };

export const BUILTIN_FUNCTIONS = new Set([
  'and',
  'or',
  'not',
  'len',
  'index',
  'slice',
  'eq',
  'ne',
  'lt',
  'le',
  'gt',
  'ge',
  'print',
  'printf',
  'println',
  'html',
  'js',
  'urlquery',
]);

export function parseTemplate(source: string): Node[] {
  const parser = new Parser(source, splitActions(source));
  const nodes = parser.parseList(new Set());
  if (!parser.done()) parser.fail(parser.current().pos, `unexpected <<${parser.peekWord()}>>`);
  return nodes;
}

class Parser {
  private index = 0;
  private rangeDepth = 0;

  constructor(
    private readonly source: string,
    private readonly pieces: Piece[],
  ) {}

  done(): boolean {
    return this.index >= this.pieces.length;
  }

  current(): Action {
    const piece = this.pieces[this.index];
    return piece?.kind === 'action' ? piece.action : { tokens: [], pos: this.source.length };
  }

  peekWord(): string {
    const first = this.current().tokens[0];
    return first?.kind === 'word' ? first.text : '';
  }

  fail(pos: number, message: string): never {
    throw new TemplateError(`${message} at ${position(this.source, pos)}`);
  }

  /** Nodes up to (not including) an action starting with one of the stop words. */
  parseList(stops: ReadonlySet<string>): Node[] {
    const nodes: Node[] = [];
    while (!this.done()) {
      const piece = this.pieces[this.index];
      if (piece === undefined) break;
      if (piece.kind === 'text') {
        nodes.push({ kind: 'text', text: piece.text });
        this.index++;
        continue;
      }
      const word = this.peekWord();
      if (stops.has(word)) return nodes;
      nodes.push(this.parseAction(piece.action, word));
    }
    if (stops.size > 0) this.fail(this.source.length, `unexpected end of template: missing <<end>>`);
    return nodes;
  }

  private parseAction(action: Action, word: string): Node {
    this.index++;
    const rest = action.tokens.slice(1);
    switch (word) {
      case 'if':
      case 'with':
      case 'range':
        return this.parseControl(word, rest, action.pos);
      case 'break':
      case 'continue':
        if (this.rangeDepth === 0) this.fail(action.pos, `<<${word}>> outside <<range>>`);
        if (rest.length > 0) this.fail(action.pos, `unexpected arguments after ${word}`);
        return { kind: word, pos: action.pos };
      case 'end':
      case 'else':
        return this.fail(action.pos, `unexpected <<${word}>>`);
      case 'define':
      case 'template':
      case 'block':
        return this.fail(action.pos, `<<${word}>> is not supported in a rule template`);
      default:
        if (action.tokens.length === 0) this.fail(action.pos, 'missing value for command');
        return { kind: 'action', pipe: parsePipe(action.tokens, action.pos, this.source, false) };
    }
  }

  private parseControl(kind: 'if' | 'with' | 'range', tokens: Token[], pos: number): Node {
    if (tokens.length === 0) this.fail(pos, `missing value for ${kind}`);
    const pipe = parsePipe(tokens, pos, this.source, kind === 'range');
    if (kind === 'range') this.rangeDepth++;
    const list = this.parseList(new Set(['end', 'else']));
    if (kind === 'range') this.rangeDepth--;
    const stop = this.current();
    this.index++;
    if (stop.tokens[0]?.kind === 'word' && stop.tokens[0].text === 'end') {
      if (stop.tokens.length > 1) this.fail(stop.pos, 'unexpected arguments after end');
      return { kind, pipe, list, elseList: undefined };
    }
    const afterElse = stop.tokens.slice(1);
    const chained = afterElse[0];
    if (chained?.kind === 'word' && (chained.text === 'if' || chained.text === 'with') && kind !== 'range') {
      // `else if` / `else with` nests a control whose <<end>> also closes this one.
      const nested = this.parseControl(chained.text, afterElse.slice(1), stop.pos);
      return { kind, pipe, list, elseList: [nested] };
    }
    if (afterElse.length > 0) this.fail(stop.pos, 'unexpected arguments after else');
    const elseList = this.parseList(new Set(['end', 'else']));
    const end = this.current();
    this.index++;
    if (!(end.tokens[0]?.kind === 'word' && end.tokens[0].text === 'end')) this.fail(end.pos, 'expected <<end>>');
    return { kind, pipe, list, elseList };
  }
}

function parsePipe(tokens: Token[], pos: number, source: string, allowTwoVars: boolean): Pipe {
  let rest = tokens;
  const vars: string[] = [];
  let assign = false;
  const declaration = rest.findIndex((t) => t.kind === 'declare' || t.kind === 'assign');
  if (declaration > 0 && rest.slice(0, declaration).every((t) => t.kind === 'variable' || t.kind === 'comma')) {
    const names = rest.slice(0, declaration).filter((t) => t.kind === 'variable');
    const maxVars = allowTwoVars ? 2 : 1;
    if (names.length === 0 || names.length > maxVars) {
      throw new TemplateError(`too many declarations at ${position(source, pos)}`);
    }
    for (const name of names) {
      if (name.kind === 'variable') {
        if (name.chain.length > 0)
          throw new TemplateError(`cannot declare a field chain at ${position(source, name.pos)}`);
        vars.push(name.name);
      }
    }
    assign = rest[declaration]?.kind === 'assign';
    rest = rest.slice(declaration + 1);
  }
  const commands = splitCommands(rest, pos, source);
  return { vars, assign, commands, pos };
}

function splitCommands(tokens: Token[], pos: number, source: string): Command[] {
  const commands: Command[] = [];
  let args: Operand[] = [];
  let argPos = pos;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i] as Token;
    if (token.kind === 'pipe') {
      if (args.length === 0) throw new TemplateError(`missing command before | at ${position(source, token.pos)}`);
      commands.push({ args, pos: argPos });
      args = [];
      continue;
    }
    if (args.length === 0) argPos = token.pos;
    if (token.kind === 'open') {
      const close = matchingClose(tokens, i, source);
      const inner = parsePipe(tokens.slice(i + 1, close), token.pos, source, false);
      const next = tokens[close + 1];
      const adjacent = next?.kind === 'field' && next.pos === (tokens[close]?.pos ?? 0) + 1 && next.chain.length > 0;
      args.push({ kind: 'pipe', pipe: inner, chain: adjacent ? next.chain : [] });
      i = adjacent ? close + 1 : close;
      continue;
    }
    args.push(operandOf(token, source));
  }
  if (args.length === 0) throw new TemplateError(`missing value for command at ${position(source, pos)}`);
  commands.push({ args, pos: argPos });
  return commands;
}

function matchingClose(tokens: Token[], open: number, source: string): number {
  let depth = 0;
  for (let i = open; i < tokens.length; i++) {
    const kind = tokens[i]?.kind;
    if (kind === 'open') depth++;
    if (kind === 'close' && --depth === 0) return i;
  }
  throw new TemplateError(`unclosed left paren at ${position(source, tokens[open]?.pos ?? 0)}`);
}

function operandOf(token: Token, source: string): Operand {
  switch (token.kind) {
    case 'field':
      return { kind: 'field', chain: token.chain };
    case 'variable':
      return { kind: 'variable', name: token.name, chain: token.chain };
    case 'literal':
      return { kind: 'literal', value: token.value };
    case 'word':
      if (!BUILTIN_FUNCTIONS.has(token.text)) {
        throw new TemplateError(`function ${JSON.stringify(token.text)} not defined at ${position(source, token.pos)}`);
      }
      return { kind: 'function', name: token.text };
    default:
      throw new TemplateError(`unexpected ${describe(token)} at ${position(source, token.pos)}`);
  }
}

function describe(token: Token): string {
  const names: Record<Token['kind'], string> = {
    pipe: '|',
    open: '(',
    close: ')',
    declare: ':=',
    assign: '=',
    comma: ',',
    word: 'word',
    field: 'field',
    variable: 'variable',
    literal: 'literal',
  };
  return JSON.stringify(names[token.kind]);
}
