/**
 * Macros: definitions, argument splitting and textual substitution of `\param`, `\@` and `\()`.
 *
 * Substitution keeps a column map from the expanded text back to the body line as written, so that an
 * error inside an expansion points at the right place in the macro body.
 */
import type { SourceText } from './source.js';

export interface MacroParam {
  readonly name: string;
  /** Text used when the argument is omitted; undefined = the argument is required. */
  readonly defaultText: string | undefined;
}

export interface MacroDef {
  /** As written in `.macro` (lookups are case-insensitive). */
  readonly name: string;
  readonly params: readonly MacroParam[];
  readonly body: readonly SourceText[];
  readonly file: string;
  readonly line: number;
}

export interface Piece {
  readonly text: string;
  /** Index of the first character of `text` in the line. */
  readonly start: number;
}

/**
 * Splits `line[from, to)` at commas that are not inside brackets, parentheses, strings or character
 * literals. Pieces are trimmed. An all-blank range gives no pieces.
 */
export function splitTopLevel(line: string, from: number, to: number): Piece[] {
  if (line.slice(from, to).trim() === '') return [];
  const pieces: Piece[] = [];
  let depth = 0;
  let pieceStart = from;
  const push = (end: number): void => {
    const raw = line.slice(pieceStart, end);
    const lead = raw.length - raw.trimStart().length;
    pieces.push({ text: raw.trim(), start: pieceStart + lead });
  };
  for (let i = from; i < to; i++) {
    const c = line[i];
    if (c === '"' || c === "'") {
      for (i++; i < to && line[i] !== c; i++) if (line[i] === '\\') i++;
    } else if (c === '(' || c === '[') depth++;
    else if ((c === ')' || c === ']') && depth > 0) depth--;
    else if (c === ',' && depth === 0) {
      push(i);
      pieceStart = i + 1;
    }
  }
  push(to);
  return pieces;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*/;

/**
 * Replaces `\name` (a parameter), `\@` (the expansion counter) and `\()` (nothing: a separator, as in
 * `\reg\()_save`) in one body line. `\\` is kept as is. Other backslashes are left for the lexer to report.
 */
export function substitute(line: SourceText, args: ReadonlyMap<string, string>, counter: number): SourceText {
  const src = line.src;
  if (!src.includes('\\')) return line;
  const base = (j: number): number => (line.map ? line.map[Math.min(j, line.map.length - 1)] : j);
  let out = '';
  const map: number[] = [];
  const emit = (s: string, at: number): void => {
    out += s;
    for (let k = 0; k < s.length; k++) map.push(at);
  };
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (c === '\\') {
      const rest = src.slice(i + 1);
      if (rest[0] === '\\') {
        out += '\\\\';
        map.push(base(i), base(i + 1));
        i += 2;
        continue;
      }
      if (rest[0] === '@') {
        emit(String(counter), base(i));
        i += 2;
        continue;
      }
      if (rest.startsWith('()')) {
        i += 3;
        continue;
      }
      const m = IDENT.exec(rest);
      if (m && args.has(m[0])) {
        emit(args.get(m[0]) ?? '', base(i));
        i += 1 + m[0].length;
        continue;
      }
    }
    out += c;
    map.push(base(i));
    i++;
  }
  map.push(base(src.length));
  return { file: line.file, line: line.line, text: line.text, src: out, map };
}
