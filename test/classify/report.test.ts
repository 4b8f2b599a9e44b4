/**
 * The report's Popek–Goldberg section: the classification of the run's ISA beside the fidelity summary, and for
 * each offending instruction the workloads where trap-and-emulate diverged because of it; results.json carries
 * the classification (schema-valid).
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { classify } from '../../src/classify/index.js';
import type { BenchReport, CellRecord } from '../../src/report/model.js';
import { divergencesBecauseOf, popekGoldbergSection } from '../../src/report/popek-goldberg.js';
import { cli } from '../support/cli.js';

const schema = JSON.parse(readFileSync(new URL('../../src/report/results.schema.json', import.meta.url), 'utf8'));
const section = (html: string): string => {
  const m = /<section id="popek-goldberg">[\s\S]*?<\/section>/.exec(html);
  if (!m) throw new Error('no Popek–Goldberg section');
  return m[0];
};
const text = (html: string): string => html.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ');

async function bench(...args: string[]): Promise<{ report: BenchReport; html: string }> {
  const out = mkdtempSync(join(tmpdir(), 'virtstrat-pg-'));
  const r = await cli('bench', '--quick', '--no-timing', '--engines', 'native,trap-emulate', '--workloads', 'hello,critical-sections', '--out', out, ...args);
  expect(r.code, r.err).toBe(0);
  return { report: JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')), html: readFileSync(join(out, 'report.html'), 'utf8') };
}

describe('the Popek–Goldberg section of report.html', () => {
  it('default ISA: the classification beside the fidelity summary; each offender with the workloads it broke', async () => {
    const { report, html } = await bench();
    const validate = new Ajv({ allErrors: true, validateFormats: false }).compile(schema);
    expect(validate(report), JSON.stringify(validate.errors)).toBe(true);
    expect(report.classification).toEqual(JSON.parse(JSON.stringify(classify('default'))));

    // Right after the fidelity matrix.
    expect(html.indexOf('<section id="fidelity">')).toBeLessThan(html.indexOf('<section id="popek-goldberg">'));
    expect(html.indexOf('<section id="popek-goldberg">')).toBeLessThan(html.indexOf('<section id="overhead-table">'));
    const s = section(html);
    expect(s).not.toMatch(/<script/i);
    const t = text(s);
    expect(t).toMatch(/Classification \(default ISA\)/);
    expect(t).toMatch(/popf sensitive-unprivileged sensitive-unprivileged/);
    expect(t).toMatch(/Fidelity by engine engine exact diverged failed native 2 0 0 trap-emulate 0 2 0/);
    expect(t).toMatch(/Theorem 1 .* sensitive ⊆ privileged : fails : pushf, popf and rdmode are sensitive but not privileged/);
    expect(t).toMatch(/Theorem 3 .* user-sensitive ⊆ privileged : fails : pushf is sensitive in user mode/);

    // One row per offending instruction, naming the workloads where trap-emulate's silent failures include it.
    const offenders = /<table class="pg-offenders">[\s\S]*?<\/table>/.exec(s)![0];
    const rows = [...offenders.matchAll(/<tr><th><code>(\w+)<\/code><\/th><td>([^]*?)<\/td><td>([^<]*)<\/td><\/tr>/g)].map((m) => [m[1], m[3]]);
    expect(rows.map((r) => r[0])).toEqual(['pushf', 'popf', 'rdmode']);
    for (const [name, where] of rows) {
      const expected = report.cells
        .filter((c) => c.engine === 'trap-emulate' && c.silentFailures.some((f) => f.instruction === name))
        .map((c) => c.workload);
      expect(expected.length, name).toBeGreaterThan(0);
      for (const w of expected) expect(where, `${name} row`).toContain(w);
    }
    expect(rows.find((r) => r[0] === 'popf')![1]).toMatch(/^critical-sections \([\d,]+×\), hello \(\d+×\)$/);
  });

  it('classic ISA: the conditions hold and trap-emulate is exact everywhere', async () => {
    const { report, html } = await bench('--isa', 'classic');
    expect(report.classification?.isa).toBe('classic');
    const t = text(section(html));
    expect(t).toMatch(/Classification \(classic ISA\)/);
    expect(t).toMatch(/sensitive ⊆ privileged : holds : every sensitive instruction traps/);
    expect(t).toMatch(/trap-emulate was exact on 2 of 2 workloads/);
  });

  it('escapes every text and links failures by instruction name', () => {
    const c = classify('default', { states: 20 });
    const cell = (engine: string, workload: string, failures: string[]): CellRecord =>
      ({
        engine,
        workload,
        fidelity: { verdict: failures.length ? 'diverged' : 'exact', compared: 'state', differences: [], cause: null },
        status: 'exited',
        silentFailures: failures.map((instruction, i) => ({ instruction, pc: 4 * i, count: 2, firstClock: i, detail: '' })),
      }) as unknown as CellRecord;
    const cells = [cell('native', '<script>x</script>', []), cell('trap-emulate', '<script>x</script>', ['popf', 'popf', 'rdmode'])];
    expect(divergencesBecauseOf('popf', cells)).toEqual([{ workload: '<script>x</script>', count: 4 }]);
    expect(divergencesBecauseOf('pushf', cells)).toEqual([]);
    const html = popekGoldbergSection(c, cells);
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;x&lt;/script&gt; (4×)');
    expect(popekGoldbergSection(undefined, cells)).toBe('');
  });
});
