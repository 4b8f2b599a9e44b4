/**
 * Source text: lines with their origin, the per-line context the assembler works with, and include paths.
 */
import * as path from 'node:path';

/** One source line as it will be assembled, with where it came from. */
export interface SourceText {
  /** File and 1-based line the text comes from (for a macro body line: the definition). */
  readonly file: string;
  readonly line: number;
  /** The line as written in that file (shown in error messages). */
  readonly text: string;
  /** The text to assemble (after any macro substitution). */
  readonly src: string;
  /** `map[i]` = column in `text` of character i of `src` (length src.length + 1); null = identity. */
  readonly map: readonly number[] | null;
}

/** A line being assembled: its text, the macro-invocation note for messages, and its place in the stream. */
export interface LineContext {
  readonly src: SourceText;
  /** Appended to every message about this line, e.g. " (in macro 'save' invoked at kernel.s:40)". */
  readonly suffix: string;
  /** Position in the assembled statement stream (orders errors and local labels). */
  readonly seq: number;
  /** The line comes from a macro expansion. */
  readonly inMacro: boolean;
}

/** Column in the source line (`text`) of column `col` of the assembled text (`src`); both 0-based. */
export function sourceColumn(line: SourceText, col: number): number {
  if (!line.map) return Math.max(0, col);
  if (line.map.length === 0) return 0;
  return line.map[Math.max(0, Math.min(col, line.map.length - 1))];
}

/** Splits a file into lines (any newline convention; a leading byte-order mark is dropped). */
export function splitLines(file: string, content: string): SourceText[] {
  const text = content.charCodeAt(0) === 0xfeff ? content.slice(1) : content;
  const parts = text.split(/\r\n|\r|\n/);
  if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
  return parts.map((t, i) => ({ file, line: i + 1, text: t, src: t, map: null }));
}

/** The path of `.include "name"` written in `from`: relative to the including file's directory. */
export function resolveInclude(from: string, name: string): string {
  if (path.isAbsolute(name)) return path.normalize(name);
  return path.normalize(path.join(path.dirname(from), name));
}

/** A key under which two spellings of the same file compare equal (for include-cycle detection). */
export const fileKey = (file: string): string => path.normalize(file);
