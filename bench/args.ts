/**
 * Command-line argument parsing with errors that say what is valid.
 * Wraps node:util parseArgs (strict) and turns its terse errors into UsageError messages that list the
 * command's flags; value checks (`choice`, `positiveInt`) list the accepted values.
 */
import { parseArgs } from 'node:util';

/** A mistake in how the command was called: exit status 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The program ran but failed (assembler errors, unreadable file, failed run): exit status 1. */
export class RunError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RunError';
  }
}

export interface FlagSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  /** One line for --help. */
  help: string;
  /** Placeholder shown in help, e.g. "N". */
  value?: string;
}

export type FlagSpecs = Record<string, FlagSpec>;

export interface Parsed {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

export function flagList(specs: FlagSpecs): string {
  return Object.keys(specs)
    .map((k) => `--${k}`)
    .join(', ');
}

export function parseCommandArgs(command: string, argv: string[], specs: FlagSpecs): Parsed {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {};
  for (const [k, s] of Object.entries(specs)) {
    options[k] = { type: s.type, ...(s.short ? { short: s.short } : {}), ...(s.multiple ? { multiple: true } : {}) };
  }
  try {
    const r = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    return { values: r.values as Parsed['values'], positionals: r.positionals };
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    const unknown = /Unknown option '([^']+)'/.exec(msg);
    if (unknown) {
      throw new UsageError(`${command}: unknown option '${unknown[1]}'. Valid options: ${flagList(specs)}`);
    }
    const what = msg.replace(/\. To specify a positional.*$/s, '').replace(/\.$/, '');
    throw new UsageError(`${command}: ${what}. Valid options: ${flagList(specs)}`);
  }
}

export function choice<T extends string>(flag: string, value: string | undefined, valid: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if ((valid as readonly string[]).includes(value)) return value as T;
  throw new UsageError(`--${flag}: '${value}' is not valid. Valid values: ${valid.join(', ')}`);
}

/** A positive integer flag; accepts 1e9, 1_000_000 and 1,000,000 spellings. */
export function positiveInt(flag: string, value: string | undefined, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  return wholeNumber(flag, value, fallback, 1, max);
}

/** A whole-number flag between min and max (inclusive), or the fallback when it is absent. */
export function wholeNumber(flag: string, value: string | undefined, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  const n = Number(value.replace(/[_,]/g, ''));
  if (!Number.isFinite(n) || !Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(`--${flag}: '${value}' is not a whole number between ${min} and ${max}`);
  }
  return n;
}

export function helpText(usage: string, summary: string, specs: FlagSpecs): string {
  const lines = Object.entries(specs).map(([k, s]) => {
    const flag = `${s.short ? `-${s.short}, ` : '    '}--${k}${s.type === 'string' ? ` ${s.value ?? 'VALUE'}` : ''}`;
    return `  ${flag.padEnd(30)} ${s.help}`;
  });
  return `usage: ${usage}\n\n${summary}\n\noptions:\n${lines.join('\n')}\n`;
}
