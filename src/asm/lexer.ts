/**
 * Lexer: one source line → tokens. Comments (`;` or `//` to the end of the line) are dropped.
 *
 * Columns are 0-based indexes into the lexed text; the assembler maps them to 1-based source columns.
 */
import { LineError } from './errors.js';

export type TokenKind = 'ident' | 'number' | 'string' | 'local' | 'directive' | 'punct' | 'eol';

export interface Token {
  readonly kind: TokenKind;
  /** The token as written (strings and characters include their quotes). */
  readonly text: string;
  /** Index of the first character. */
  readonly start: number;
  /** Index after the last character. */
  readonly end: number;
  /** number: the value as an int32; local: the label number. */
  readonly value: number;
  /** local: `Nb` (true) or `Nf` (false). */
  readonly back: boolean;
  /** string: its bytes, escapes resolved, UTF-8 encoded. */
  readonly bytes: readonly number[];
}

export interface LexResult {
  /** The tokens read, always ending with an `eol` token (also when `error` is set). */
  readonly tokens: Token[];
  /** The first lexical error on the line, if any (tokens stop there). */
  readonly error: LineError | null;
  /** Index where the statement ends: the start of the comment, or the length of the line. */
  readonly end: number;
}

/** Multi-character punctuators first: longest match wins. */
const PUNCTUATORS = [
  '>>>', '<<', '>>', '<=', '>=', '==', '!=', '&&', '||',
  '+', '-', '*', '/', '%', '(', ')', '[', ']', ',', ':', '=', '<', '>', '&', '|', '^', '~', '!', '.',
];

const MAX_U32 = 0xffffffff;

export const isIdentStart = (c: number): boolean =>
  (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
export const isIdentChar = (c: number): boolean => isIdentStart(c) || isDigit(c);
const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isSpace = (c: number): boolean => c === 32 || c === 9 || c === 13 || c === 11 || c === 12;

/** How a character is named in a message: `'@'`, or `U+0007` for invisible ones. */
export function describeChar(ch: string): string {
  const cp = ch.codePointAt(0) ?? 0;
  if (cp < 0x20 || cp === 0x7f || (cp >= 0x80 && cp <= 0xa0) || cp === 0xfeff) {
    return `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
  }
  return `'${ch}'`;
}

function tok(kind: TokenKind, text: string, start: number, end: number, value = 0, back = false, bytes: readonly number[] = []): Token {
  return { kind, text, start, end, value, back, bytes };
}

/** UTF-8 bytes of one code point. */
function utf8(cp: number, out: number[]): void {
  if (cp < 0x80) out.push(cp);
  else if (cp < 0x800) out.push(0xc0 | (cp >> 6), 0x80 | (cp & 63));
  else if (cp < 0x10000) out.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63));
  else out.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 63), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63));
}

const SIMPLE_ESCAPES: Readonly<Record<string, number>> = { n: 10, t: 9, r: 13, '0': 0, '\\': 92, "'": 39, '"': 34 };

/** Reads the escape sequence whose backslash is at `i`. Returns its byte value and the index after it. */
function readEscape(text: string, i: number): { value: number; next: number } {
  const c = text[i + 1];
  if (c === undefined) throw new LineError(i, 'unterminated escape sequence at end of line');
  const simple = SIMPLE_ESCAPES[c];
  if (simple !== undefined) return { value: simple, next: i + 2 };
  if (c === 'x') {
    const hex = text.slice(i + 2, i + 4);
    if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw new LineError(i, "expected two hex digits after '\\x' (as in '\\x41')");
    return { value: parseInt(hex, 16), next: i + 4 };
  }
  throw new LineError(i, `unknown escape sequence '\\${c}' (expected \\n, \\t, \\r, \\0, \\\\, \\', \\" or \\xNN)`);
}

/** Parses a number literal (the whole alphanumeric word). Returns the int32 value or throws. */
function numberValue(word: string, start: number): number {
  let base = 10;
  let digits = word;
  const prefix = word.slice(0, 2).toLowerCase();
  if (prefix === '0x') base = 16;
  else if (prefix === '0b') base = 2;
  else if (prefix === '0o') base = 8;
  if (base !== 10) digits = word.slice(2);
  const digit = base === 16 ? '[0-9a-fA-F]' : base === 2 ? '[01]' : base === 8 ? '[0-7]' : '[0-9]';
  if (!new RegExp(`^${digit}+(_${digit}+)*$`).test(digits)) {
    const kind = base === 16 ? 'a hexadecimal' : base === 2 ? 'a binary' : base === 8 ? 'an octal' : 'a decimal';
    throw new LineError(start, `malformed number '${word}' (not ${kind} literal)`);
  }
  let value = 0;
  for (const ch of digits) {
    if (ch === '_') continue;
    value = value * base + parseInt(ch, 16);
    if (value > MAX_U32) throw new LineError(start, `number '${word}' does not fit in 32 bits (largest is 0xffffffff)`);
  }
  return value | 0;
}

/** Tokenizes one line (`inMacro`: the line comes from a macro body, for messages). Never throws: a lexical error ends the line and is returned in `error`. */
export function lex(text: string, inMacro = false): LexResult {
  const tokens: Token[] = [];
  const n = text.length;
  let i = 0;
  let end = n;
  let error: LineError | null = null;
  try {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (isSpace(c)) {
        i++;
        continue;
      }
      const ch = text[i];
      if (ch === ';' || (ch === '/' && text[i + 1] === '/')) {
        end = i;
        break;
      }
      const start = i;
      if (isIdentStart(c)) {
        while (i < n && isIdentChar(text.charCodeAt(i))) i++;
        tokens.push(tok('ident', text.slice(start, i), start, i));
      } else if (isDigit(c)) {
        while (i < n && isIdentChar(text.charCodeAt(i))) i++;
        const word = text.slice(start, i);
        const local = /^([0-9]{1,9})([bf])$/.exec(word);
        if (local) tokens.push(tok('local', word, start, i, parseInt(local[1], 10), local[2] === 'b'));
        else tokens.push(tok('number', word, start, i, numberValue(word, start)));
      } else if (ch === '.' && i + 1 < n && isIdentStart(text.charCodeAt(i + 1))) {
        i++;
        while (i < n && isIdentChar(text.charCodeAt(i))) i++;
        tokens.push(tok('directive', text.slice(start, i), start, i));
      } else if (ch === '"') {
        const bytes: number[] = [];
        i++;
        for (;;) {
          if (i >= n) throw new LineError(start, 'unterminated string (missing closing \'"\')');
          const d = text[i];
          if (d === '"') {
            i++;
            break;
          }
          if (d === '\\') {
            const esc = readEscape(text, i);
            bytes.push(esc.value);
            i = esc.next;
          } else {
            const cp = text.codePointAt(i) ?? 0;
            utf8(cp, bytes);
            i += cp > 0xffff ? 2 : 1;
          }
        }
        tokens.push(tok('string', text.slice(start, i), start, i, 0, false, bytes));
      } else if (ch === "'") {
        i++;
        let value: number;
        if (i >= n) throw new LineError(start, "unterminated character literal (missing closing \"'\")");
        if (text[i] === "'") throw new LineError(start, "empty character literal ''");
        if (text[i] === '\\') {
          const esc = readEscape(text, i);
          value = esc.value;
          i = esc.next;
        } else {
          const cp = text.codePointAt(i) ?? 0;
          if (cp >= 0x80) {
            throw new LineError(start, `character literal ${describeChar(String.fromCodePoint(cp))} is not ASCII (use a string or a number)`);
          }
          value = cp;
          i++;
        }
        if (text[i] !== "'") {
          const close = text.indexOf("'", i);
          if (close < 0) throw new LineError(start, "unterminated character literal (missing closing \"'\")");
          throw new LineError(start, `character literal ${text.slice(start, close + 1)} must contain exactly one character`);
        }
        i++;
        tokens.push(tok('number', text.slice(start, i), start, i, value));
      } else {
        const p = PUNCTUATORS.find((q) => text.startsWith(q, i));
        if (p === undefined) {
          const cp = text.codePointAt(i) ?? 0;
          const shown = describeChar(String.fromCodePoint(cp));
          if (ch === '\\') {
            const name = /^\\[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i))?.[0] ?? '\\';
            throw new LineError(
              start,
              inMacro
                ? `unknown macro parameter '${name}'`
                : `unexpected '${name}' outside a macro body (macro parameters are only replaced inside '.macro')`,
            );
          }
          throw new LineError(start, `unexpected character ${shown}`);
        }
        i += p.length;
        tokens.push(tok('punct', p, start, i));
      }
    }
  } catch (e) {
    if (!(e instanceof LineError)) throw e;
    error = e;
  }
  const last = tokens.length > 0 ? tokens[tokens.length - 1].end : 0;
  tokens.push(tok('eol', '', last, last));
  return { tokens, error, end };
}

/** How a token is named in a message. */
export function describeToken(t: Token): string {
  if (t.kind === 'eol') return 'end of line';
  if (t.kind === 'string') return `string ${t.text.length > 24 ? `${t.text.slice(0, 21)}..."` : t.text}`;
  return `'${t.text}'`;
}
