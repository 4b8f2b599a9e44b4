/**
 * Writing a report: every output is rendered in memory first, then each file is written to a temporary name
 * in the output folder and renamed into place. A run interrupted before the renames leaves the previous report
 * untouched; a rename is atomic, so no file is ever half-written. The renames happen in one synchronous step, so
 * a signal handler (bench's Ctrl-C) can never run between two of them.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exitReasonsCsv, resultsCsv } from './csv.js';
import { renderHtml } from './html.js';
import type { BenchReport } from './model.js';

export const REPORT_FILES = ['results.json', 'results.csv', 'exit_reasons.csv', 'report.html'] as const;

export async function renderReport(report: BenchReport): Promise<Record<(typeof REPORT_FILES)[number], string>> {
  return {
    'results.json': `${JSON.stringify(report, null, 2)}\n`,
    'results.csv': resultsCsv(report),
    'exit_reasons.csv': exitReasonsCsv(report),
    'report.html': await renderHtml(report),
  };
}

/** A file staged for a rename: `.results.json.tmp-<pid>`. */
const STAGED = /^\.(.+)\.tmp-(\d+)$/;

/** Is a process with this id running (a staged file of a live writer must be left alone)? */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Write files atomically into `dir` (created if needed): stage each one under a temporary name, then rename them
 * all into place in one synchronous step. Any failure removes what was staged, before anything is renamed when
 * it can be foreseen (a folder where a file must go). Staged files left by a writer that was killed outright
 * (SIGKILL, a power cut) are removed first. Returns the paths written.
 */
export function writeFilesAtomically(dir: string, files: Record<string, string>): string[] {
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(dir)) {
    const m = STAGED.exec(f);
    if (m && m[1] in files && !alive(Number(m[2]))) rmSync(join(dir, f), { force: true });
  }
  const staged: [string, string][] = [];
  try {
    for (const [name, content] of Object.entries(files)) {
      const tmp = join(dir, `.${name}.tmp-${process.pid}`);
      const final = join(dir, name);
      if (existsSync(final) && statSync(final).isDirectory()) throw new Error(`${final} is a folder`);
      staged.push([tmp, final]);
      writeFileSync(tmp, content);
    }
    for (const [tmp, final] of staged) renameSync(tmp, final);
  } catch (err) {
    for (const [tmp] of staged) rmSync(tmp, { force: true });
    throw err;
  }
  return staged.map(([, final]) => final);
}
