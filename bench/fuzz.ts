/**
 * `npm run fuzz -- [--runs N] [--seed S] [--path P] [--out DIR]`: differential fuzzing of every engine that runs
 * a bare image against the reference (src/fuzz/, docs/testing.md). Prints progress and a summary; on an
 * unexplained divergence prints the shrunk program as assembly, writes it to DIR, says how to reproduce it and
 * exits with status 1. Status 2 is a usage error.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { formatFailure, formatSummary, runCampaign } from '../src/fuzz/campaign.js';
import type { Target } from '../src/fuzz/differential.js';
import { helpText, parseCommandArgs, positiveInt, UsageError, type FlagSpecs } from './args.js';
import { processIo, type Io } from './cli.js';

export const DEFAULT_FUZZ_RUNS = 1000;
export const DEFAULT_FUZZ_OUT = 'reports/fuzz';

const USAGE = 'npm run fuzz -- [--runs N] [--seed S] [--path P] [--out DIR]';
const SUMMARY =
  'Generate random valid guest programs from the instruction table, run each on the reference and every engine that runs a bare image, and report any unexplained divergence, shrunk to a minimal program.';

const FLAGS: FlagSpecs = {
  runs: { type: 'string', value: 'N', help: `programs to generate (default ${DEFAULT_FUZZ_RUNS})` },
  seed: { type: 'string', value: 'S', help: 'fast-check seed (default: a new one, printed)' },
  path: { type: 'string', value: 'P', help: "replay one counterexample: fast-check's path, printed with a failure (with its seed)" },
  out: { type: 'string', value: 'DIR', help: `where to write a failing program (default ${DEFAULT_FUZZ_OUT})` },
  help: { type: 'boolean', short: 'h', help: 'show this help' },
};

function parseSeed(text: string | undefined): number {
  if (text === undefined) return (Date.now() ^ (process.pid << 16)) | 0;
  const n = Number(text);
  if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(n) || n < -0x80000000 || n > 0xffffffff) {
    throw new UsageError(`--seed: '${text}' is not a 32-bit integer`);
  }
  return n | 0;
}

/** `targets`: what to fuzz (default: every bare-image engine on both ISAs; tests pass a broken engine). */
export function fuzzMain(argv: string[], io: Io = processIo, targets?: readonly Target[]): number {
  let runs: number;
  let seed: number;
  let path: string | undefined;
  let out: string;
  try {
    const args = parseCommandArgs('fuzz', argv, FLAGS);
    if (args.values.help === true) {
      io.out(helpText(USAGE, SUMMARY, FLAGS));
      return 0;
    }
    if (args.positionals.length > 0) throw new UsageError(`fuzz takes no arguments, got '${args.positionals.join(' ')}'`);
    runs = positiveInt('runs', args.values.runs as string | undefined, DEFAULT_FUZZ_RUNS, 10_000_000);
    seed = parseSeed(args.values.seed as string | undefined);
    path = args.values.path as string | undefined;
    if (path !== undefined && !/^\d+(:\d+)*$/.test(path)) throw new UsageError(`--path: '${path}' is not a fast-check path (like 12:0:3)`);
    out = (args.values.out as string | undefined) ?? DEFAULT_FUZZ_OUT;
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`fuzz: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  io.err(`[fuzz] ${path ? `replaying path ${path} of seed ${seed}` : `${runs} programs, seed ${seed}`}\n`);
  const started = performance.now();
  const every = Math.max(1, Math.round(runs / 20));
  let failures = 0;
  const r = runCampaign({
    runs,
    seed,
    path,
    targets,
    onProgram: (done, run) => {
      failures += run.failures.length;
      if (done % every === 0 || done === runs) {
        const s = ((performance.now() - started) / 1000).toFixed(1);
        const line = `[fuzz] ${done}/${runs} programs, ${failures} failures, ${s} s`;
        io.err(io.isTTY ? `\r${line}` : `${line}\n`);
      }
    },
  });
  if (io.isTTY) io.err('\n');
  if (r.failure) {
    mkdirSync(out, { recursive: true });
    const file = join(out, `failure-seed${r.failure.seed}.s`);
    writeFileSync(file, r.failure.source);
    io.out(`${formatFailure(r.failure, file)}\n`);
  }
  io.out(`${formatSummary(r, (performance.now() - started) / 1000)}\n`);
  return r.failure ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = fuzzMain(process.argv.slice(2));
}
