/**
 * Operand parsing shared by the directives (the assembler decides what to do with the results).
 */
import { LineError } from './errors.js';
import { parseExpr, type Cursor, type Expr } from './expr.js';
import type { DataItem } from './emit.js';
import { describeToken, type Token } from './lexer.js';

export const DIRECTIVES = [
  'equ', 'word', 'byte', 'ascii', 'asciz', 'space', 'align', 'org', 'include',
  'if', 'ifdef', 'ifndef', 'elif', 'else', 'endif', 'macro', 'endm', 'error', 'assert',
] as const;
export type Directive = (typeof DIRECTIVES)[number];
export const isDirective = (s: string): s is Directive => (DIRECTIVES as readonly string[]).includes(s);
export const CONDITIONALS: ReadonlySet<string> = new Set(['if', 'ifdef', 'ifndef', 'elif', 'else', 'endif']);

const utf8Decoder = new TextDecoder();

/** The text of a string token (its bytes, as UTF-8). */
export const stringText = (t: Token): string => utf8Decoder.decode(new Uint8Array(t.bytes));

/** The line must end here. */
export function expectEnd(cur: Cursor, after: string): void {
  const t = cur.peek();
  if (t.kind !== 'eol') throw new LineError(t.start, `unexpected ${describeToken(t)} after ${after}`);
}

/** An expression that must be present (`head`: the directive, named in the error). */
export function requiredExpr(cur: Cursor, what: string, head: Token): Expr {
  if (cur.atEnd()) throw new LineError(cur.peek().start, `'${head.text}' expects ${what}`);
  return parseExpr(cur, what);
}

/** `.word`/`.byte` operands: one or more comma-separated expressions. */
export function parseDataItems(width: 1 | 4, head: Token, cur: Cursor): DataItem[] {
  const items: DataItem[] = [];
  const what = width === 4 ? 'a word value' : 'a byte value';
  if (cur.atEnd()) throw new LineError(cur.peek().start, `'${head.text}' expects at least one value`);
  for (;;) {
    const col = cur.peek().start;
    items.push({ expr: parseExpr(cur, what), col });
    if (cur.atEnd()) return items;
    const t = cur.next();
    if (t.kind !== 'punct' || t.text !== ',') throw new LineError(t.start, `unexpected ${describeToken(t)} after value ${items.length} (expected ',')`);
    if (cur.atEnd()) throw new LineError(cur.peek().start, `expected ${what} after ','`);
  }
}

/** `.ascii`/`.asciz` operands: one or more comma-separated strings, as bytes (`zero`: NUL after each). */
export function parseStrings(zero: boolean, head: Token, cur: Cursor): number[] {
  const bytes: number[] = [];
  if (cur.atEnd()) throw new LineError(cur.peek().start, `'${head.text}' expects a string in double quotes`);
  for (;;) {
    const t = cur.next();
    if (t.kind !== 'string') throw new LineError(t.start, `'${head.text}' expects a string in double quotes, found ${describeToken(t)}`);
    for (const b of t.bytes) bytes.push(b);
    if (zero) bytes.push(0);
    if (cur.atEnd()) return bytes;
    const c = cur.next();
    if (c.kind !== 'punct' || c.text !== ',') throw new LineError(c.start, `unexpected ${describeToken(c)} after string (expected ',')`);
  }
}
