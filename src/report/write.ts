/**
 * Writing a report: every output is rendered in memory first, then each file is written to a temporary name
 * in the output folder and renamed into place. A run interrupted before the renames leaves the previous report
 * untouched; a rename is atomic, so no file is ever half-written.
 */
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
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

/** Write files atomically into `dir` (created if needed). Returns the paths written. */
export function writeFilesAtomically(dir: string, files: Record<string, string>): string[] {
  mkdirSync(dir, { recursive: true });
  const staged: [string, string][] = [];
  try {
    for (const [name, content] of Object.entries(files)) {
      const tmp = join(dir, `.${name}.tmp-${process.pid}`);
      writeFileSync(tmp, content);
      staged.push([tmp, join(dir, name)]);
    }
  } catch (err) {
    for (const [tmp] of staged) rmSync(tmp, { force: true });
    throw err;
  }
  for (const [tmp, final] of staged) renameSync(tmp, final);
  return staged.map(([, final]) => final);
}
