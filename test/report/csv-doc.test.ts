/**
 * docs/reports.md documents the CSV files exactly: its column table for each file lists the columns the code
 * writes, no more, no fewer, in the same order. (The descriptions may say more than the code's one-liners.)
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EXIT_REASON_COLUMNS, RESULT_COLUMNS } from '../../src/report/csv.js';

const doc = readFileSync(new URL('../../docs/reports.md', import.meta.url), 'utf8');

/** The column names of the table in the section headed `## <file>`, in order (rows `| \`name\` | meaning |`). */
function documentedColumns(file: string): string[] {
  const start = doc.indexOf(`\n## ${file}\n`);
  if (start < 0) throw new Error(`docs/reports.md has no section "## ${file}"`);
  const next = doc.indexOf('\n## ', start + 1);
  const section = doc.slice(start, next < 0 ? undefined : next);
  const rows = section.split('\n').filter((l) => l.startsWith('|'));
  expect(rows[0], `${file}: the table's heading`).toMatch(/^\| column \| meaning \|$/);
  return rows.slice(2).map((row) => {
    const m = /^\| `([a-z0-9_]+)` \| .+ \|$/.exec(row);
    if (!m) throw new Error(`docs/reports.md, ${file}: not a column row: ${row}`);
    return m[1];
  });
}

describe('docs/reports.md', () => {
  it('documents exactly the columns of results.csv, in order', () => {
    expect(documentedColumns('results.csv')).toEqual(RESULT_COLUMNS.map((c) => c.name));
  });

  it('documents exactly the columns of exit_reasons.csv, in order', () => {
    expect(documentedColumns('exit_reasons.csv')).toEqual(EXIT_REASON_COLUMNS.map((c) => c.name));
  });
});
