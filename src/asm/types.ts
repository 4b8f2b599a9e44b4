/**
 * Public types of the VS32 assembler (re-exported by src/asm/index.ts).
 */

export interface AssembleOptions {
  /** Predefined symbols, e.g. { PARAVIRT: 1, SCALE: 1000 }. Visible to .ifdef/.if and expressions. */
  defines?: Readonly<Record<string, number>>;
  /** Reads an included file; default: fs.readFileSync(path, 'utf8'). Throwing means "cannot read". */
  readFile?: (path: string) => string;
}

export interface AsmError {
  file: string;
  /** 1-based line number. */
  line: number;
  /** 1-based column of the offending token (in `text`). */
  column: number;
  message: string;
  /** the source line */
  text: string;
}

export interface SourceLine {
  address: number;
  size: number;
  file: string;
  line: number;
}

export interface AssembleResult {
  /** errors.length === 0 */
  ok: boolean;
  /** Bytes from address 0 up to the highest byte emitted (little-endian words). */
  image: Uint8Array;
  /** Labels and .equ constants (and the predefined symbols). */
  symbols: Map<string, number>;
  /** All errors found, in source order. */
  errors: AsmError[];
  /** One entry per emitted instruction or data directive, for source maps. */
  lines: SourceLine[];
}
