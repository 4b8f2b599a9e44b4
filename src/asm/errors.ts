/**
 * Error plumbing: the exceptions used inside the assembler (never escaping `assemble`) and `formatError`.
 */
import { sourceColumn, type LineContext } from './source.js';
import type { AsmError } from './types.js';

/**
 * A mistake on the line being processed. `col` is a 0-based index into the text that was lexed
 * (after macro substitution); the reporter maps it back to the source line.
 *
 * These are thrown and caught inside the assembler only (one per faulty line, possibly very many per
 * run), so they are plain objects without the cost of capturing a stack trace.
 */
export class LineError {
  readonly col: number;
  readonly message: string;
  constructor(col: number, message: string) {
    this.col = col;
    this.message = message;
  }
  toString(): string {
    return `column ${this.col + 1}: ${this.message}`;
  }
}

/** A symbol is needed now (pass 1) but is not defined yet. */
export class NotYetError extends LineError {
  readonly symbol: string;
  constructor(col: number, symbol: string, message: string) {
    super(col, message);
    this.symbol = symbol;
  }
}

/** The value depends on a definition that already failed; its error was reported where it was made. */
export class PoisonedError {
  toString(): string {
    return 'depends on a failed definition';
  }
}

/**
 * `file:line:col: error: message`, then the source line and a caret under the column (indented by 4).
 * Tabs before the column are kept in the caret line so that the caret lines up in a terminal.
 */
export function formatError(e: AsmError): string {
  const text = String(e.text ?? '').replace(/[\r\n]+$/, '');
  // No source line to point into (a file that cannot be read): the position and the message say it all.
  if (text.trim() === '') return `${e.file}:${e.line}:${e.column}: error: ${e.message}`;
  const col = Math.max(1, Math.floor(Number(e.column) || 1));
  let pad = '';
  for (let i = 0; i < col - 1; i++) pad += text[i] === '\t' ? '\t' : ' ';
  return `${e.file}:${e.line}:${e.column}: error: ${e.message}\n    ${text}\n    ${pad}^`;
}

/** A reported error and where it sorts in the statement stream. */
export interface ErrorRecord {
  readonly error: AsmError;
  readonly seq: number;
  readonly order: number;
  /** The macro-invocation note appended to the message (kept to rewrite the message later). */
  readonly suffix: string;
}

/** Collects errors; `sorted()` returns them in source order (stream position, then column). */
export class ErrorList {
  private readonly records: ErrorRecord[] = [];

  get count(): number {
    return this.records.length;
  }

  /** An error at 0-based column `col` of the assembled text of `ctx`. */
  at(ctx: LineContext, col: number, message: string): ErrorRecord {
    const rec: ErrorRecord = {
      error: {
        file: ctx.src.file,
        line: ctx.src.line,
        column: sourceColumn(ctx.src, col) + 1,
        message: message + ctx.suffix,
        text: ctx.src.text,
      },
      seq: ctx.seq,
      order: this.records.length,
      suffix: ctx.suffix,
    };
    this.records.push(rec);
    return rec;
  }

  /** Rewrites the message of an already reported error (keeping its macro note). */
  rewrite(rec: ErrorRecord, message: string): void {
    rec.error.message = message + rec.suffix;
  }

  sorted(): AsmError[] {
    return [...this.records]
      .sort((a, b) => a.seq - b.seq || a.error.column - b.error.column || a.order - b.order)
      .map((r) => r.error);
  }
}
