/**
 * Expressions: a token cursor, a C-precedence parser producing a small AST, and a 32-bit evaluator.
 *
 * All arithmetic is 32-bit two's complement. Values are kept as int32 (so 0xffffffff is -1).
 */
import { LineError } from './errors.js';
import { describeToken, type Token } from './lexer.js';
import { isRegisterName } from './registers.js';

export type UnaryOp = '-' | '~' | '!';
export type BinaryOp =
  | '*' | '/' | '%' | '+' | '-' | '<<' | '>>' | '>>>'
  | '<' | '<=' | '>' | '>=' | '==' | '!=' | '&' | '^' | '|' | '&&' | '||';

/** Expression tree. `col` is the 0-based column of the token the node starts at (for messages). */
export type Expr =
  | { readonly k: 'num'; readonly value: number; readonly col: number }
  | { readonly k: 'sym'; readonly name: string; readonly col: number }
  | { readonly k: 'local'; readonly label: number; readonly back: boolean; readonly text: string; readonly col: number }
  | { readonly k: 'dot'; readonly col: number }
  | { readonly k: 'unary'; readonly op: UnaryOp; readonly a: Expr; readonly col: number }
  | { readonly k: 'binary'; readonly op: BinaryOp; readonly a: Expr; readonly b: Expr; readonly col: number }
  | { readonly k: 'call'; readonly fn: 'hi' | 'lo'; readonly a: Expr; readonly col: number };

/** Binding strength of the binary operators (higher binds tighter), as in C. */
const PRECEDENCE: Readonly<Record<BinaryOp, number>> = {
  '||': 1,
  '&&': 2,
  '|': 3,
  '^': 4,
  '&': 5,
  '==': 6, '!=': 6,
  '<': 7, '<=': 7, '>': 7, '>=': 7,
  '<<': 8, '>>': 8, '>>>': 8,
  '+': 9, '-': 9,
  '*': 10, '/': 10, '%': 10,
};

/** Deepest expression tree accepted (keeps parsing and evaluation far from the stack limit). */
export const MAX_EXPR_DEPTH = 256;

/** A read position in a line's tokens. The last token is always `eol` and is never consumed past. */
export class Cursor {
  readonly tokens: readonly Token[];
  pos = 0;
  constructor(tokens: readonly Token[]) {
    this.tokens = tokens;
  }
  peek(ahead = 0): Token {
    return this.tokens[Math.min(this.pos + ahead, this.tokens.length - 1)];
  }
  next(): Token {
    const t = this.peek();
    if (this.pos < this.tokens.length - 1) this.pos++;
    return t;
  }
  atEnd(): boolean {
    return this.peek().kind === 'eol';
  }
  isPunct(p: string, ahead = 0): boolean {
    const t = this.peek(ahead);
    return t.kind === 'punct' && t.text === p;
  }
}

/**
 * Parses an expression starting at the cursor and stops at the first token that cannot continue it.
 * `what` names what was expected, for messages ("an immediate", "a branch target", ...).
 */
export function parseExpr(cur: Cursor, what = 'an expression'): Expr {
  return new ExprParser(cur, what).binary(1, 0);
}

const tooComplex = (col: number): LineError =>
  new LineError(col, `expression too complex (nested more than ${MAX_EXPR_DEPTH} levels)`);

class ExprParser {
  /** Height of each composite node built so far (leaves are 1). */
  private readonly heights = new WeakMap<Expr, number>();

  constructor(
    private readonly cur: Cursor,
    private readonly what: string,
  ) {}

  binary(minPrec: number, depth: number): Expr {
    let left = this.unary(depth);
    for (;;) {
      const t = this.cur.peek();
      if (t.kind !== 'punct' || !(t.text in PRECEDENCE)) return left;
      const op = t.text as BinaryOp;
      const prec = PRECEDENCE[op];
      if (prec < minPrec) return left;
      this.cur.next();
      const right = this.binary(prec + 1, depth + 1);
      left = this.node({ k: 'binary', op, a: left, b: right, col: t.start }, Math.max(this.height(left), this.height(right)));
    }
  }

  private height(e: Expr): number {
    return this.heights.get(e) ?? 1;
  }

  /** Records the height of a new node (1 + its tallest child) and enforces MAX_EXPR_DEPTH. */
  private node(e: Expr, childHeight: number): Expr {
    if (childHeight + 1 > MAX_EXPR_DEPTH) throw tooComplex(e.col);
    this.heights.set(e, childHeight + 1);
    return e;
  }

  unary(depth: number): Expr {
    const t = this.cur.peek();
    if (depth > MAX_EXPR_DEPTH) throw tooComplex(t.start);
    if (t.kind === 'punct' && (t.text === '-' || t.text === '~' || t.text === '!')) {
      this.cur.next();
      const a = this.unary(depth + 1);
      return this.node({ k: 'unary', op: t.text, a, col: t.start }, this.height(a));
    }
    if (t.kind === 'punct' && t.text === '+') {
      this.cur.next();
      return this.unary(depth + 1);
    }
    return this.primary(depth);
  }

  primary(depth: number): Expr {
    const t = this.cur.next();
    switch (t.kind) {
      case 'number':
        return { k: 'num', value: t.value, col: t.start };
      case 'local':
        return { k: 'local', label: t.value, back: t.back, text: t.text, col: t.start };
      case 'ident': {
        if (this.cur.isPunct('(')) {
          const fn = t.text.toLowerCase();
          if (fn !== 'hi' && fn !== 'lo') {
            throw new LineError(t.start, `unknown function '${t.text}' (the built-in functions are hi and lo)`);
          }
          const open = this.cur.next();
          const a = this.binary(1, depth + 1);
          this.close(open);
          return this.node({ k: 'call', fn, a, col: t.start }, this.height(a));
        }
        if (isRegisterName(t.text)) {
          throw new LineError(t.start, `expected ${this.what}, found register '${t.text}'`);
        }
        return { k: 'sym', name: t.text, col: t.start };
      }
      case 'punct':
        if (t.text === '.') return { k: 'dot', col: t.start };
        if (t.text === '(') {
          const e = this.binary(1, depth + 1);
          this.close(t);
          return e;
        }
        break;
      default:
        break;
    }
    throw new LineError(t.start, `expected ${this.what}, found ${describeToken(t)}`);
  }

  close(open: Token): void {
    const t = this.cur.peek();
    if (t.kind === 'punct' && t.text === ')') {
      this.cur.next();
      return;
    }
    throw new LineError(t.start, `expected ')' to close the '(' at column ${open.start + 1}, found ${describeToken(t)}`);
  }
}

/** What an expression can refer to. Lookups throw LineError / NotYetError / PoisonedError. */
export interface EvalEnv {
  /** Address of the current statement (`.`). */
  readonly dot: number;
  symbol(name: string, col: number): number;
  local(label: number, back: boolean, text: string, col: number): number;
}

/** Evaluates to an int32. Throws LineError for division by zero and for failed lookups. */
export function evaluate(e: Expr, env: EvalEnv): number {
  switch (e.k) {
    case 'num':
      return e.value | 0;
    case 'dot':
      return env.dot | 0;
    case 'sym':
      return env.symbol(e.name, e.col) | 0;
    case 'local':
      return env.local(e.label, e.back, e.text, e.col) | 0;
    case 'call': {
      const v = evaluate(e.a, env);
      return e.fn === 'hi' ? (v >>> 16) & 0xffff : v & 0xffff;
    }
    case 'unary': {
      const v = evaluate(e.a, env);
      if (e.op === '-') return -v | 0;
      if (e.op === '~') return ~v;
      return v === 0 ? 1 : 0;
    }
    case 'binary': {
      const a = evaluate(e.a, env);
      if (e.op === '&&') return a !== 0 && evaluate(e.b, env) !== 0 ? 1 : 0;
      if (e.op === '||') return a !== 0 || evaluate(e.b, env) !== 0 ? 1 : 0;
      const b = evaluate(e.b, env);
      return binary(e.op, a, b, e.col);
    }
  }
}

function binary(op: BinaryOp, a: number, b: number, col: number): number {
  switch (op) {
    case '*':
      return Math.imul(a, b);
    case '/':
      if (b === 0) throw new LineError(col, 'division by zero');
      return Math.trunc(a / b) | 0;
    case '%':
      if (b === 0) throw new LineError(col, 'modulo by zero');
      return a % b | 0;
    case '+':
      return (a + b) | 0;
    case '-':
      return (a - b) | 0;
    case '<<':
      return a << (b & 31);
    case '>>':
      return a >> (b & 31);
    case '>>>':
      return (a >>> (b & 31)) | 0;
    case '<':
      return a < b ? 1 : 0;
    case '<=':
      return a <= b ? 1 : 0;
    case '>':
      return a > b ? 1 : 0;
    case '>=':
      return a >= b ? 1 : 0;
    case '==':
      return a === b ? 1 : 0;
    case '!=':
      return a !== b ? 1 : 0;
    case '&':
      return a & b;
    case '^':
      return a ^ b;
    case '|':
      return a | b;
    case '&&':
      return a !== 0 && b !== 0 ? 1 : 0;
    case '||':
      return a !== 0 || b !== 0 ? 1 : 0;
  }
}
