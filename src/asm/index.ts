/**
 * The VS32 assembler: public API. See docs/assembler.md for the language.
 */
import * as fs from 'node:fs';
import { Assembler } from './assembler.js';
import type { AsmError, AssembleOptions, AssembleResult } from './types.js';

export type { AsmError, AssembleOptions, AssembleResult, SourceLine } from './types.js';
export { formatError } from './errors.js';

const defaultReadFile = (path: string): string => fs.readFileSync(path, 'utf8');

function failed(error: AsmError): AssembleResult {
  return { ok: false, image: new Uint8Array(0), symbols: new Map(), errors: [error], lines: [] };
}

/** Assembles `source` (named `fileName` in messages and for relative includes). Never throws. */
export function assemble(source: string, fileName: string, options: AssembleOptions = {}): AssembleResult {
  const file = typeof fileName === 'string' ? fileName : String(fileName);
  try {
    const text = typeof source === 'string' ? source : String(source ?? '');
    return new Assembler(options ?? {}, defaultReadFile).run(text, file);
  } catch (e) {
    // Not expected: every problem with the input is reported as an AsmError. Kept so that a bug in the
    // assembler still cannot throw out of it.
    const message = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    return failed({ file, line: 1, column: 1, message: `internal assembler error (${message})`, text: '' });
  }
}

/** Reads `path` (with `options.readFile` if given) and assembles it. A missing file is an AsmError. */
export function assembleFile(path: string, options: AssembleOptions = {}): AssembleResult {
  const file = typeof path === 'string' ? path : String(path);
  let source: unknown;
  try {
    source = (options?.readFile ?? defaultReadFile)(file);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    return failed({ file, line: 1, column: 1, message: `cannot read '${file}' (${why})`, text: '' });
  }
  if (typeof source !== 'string') {
    return failed({ file, line: 1, column: 1, message: `cannot read '${file}' (readFile returned no text)`, text: '' });
  }
  return assemble(source, file, options);
}
