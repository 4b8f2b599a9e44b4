/**
 * The report's Popek–Goldberg section: the classification of the run's ISA beside the fidelity summary, and for
 * each offending instruction its two witnesses and the workloads where trap-and-emulate diverged because of it —
 * first, or only after another instruction; results.json carries the classification (schema-valid).
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

    // One row per offending instruction: its two witnesses, then the workloads where trap-emulate's silent
    // failures include it, split by whether it misbehaved first there.
    const offenders = /<table class="pg-offenders">[\s\S]*?<\/table>/.exec(s)![0];
    const rows = [...offenders.matchAll(/<tr><th><code>(\w+)<\/code><\/th><td>([^]*?)<\/td><td>([^<]*)<\/td><td>([^<]*)<\/td><\/tr>/g)].map((m) => ({
      name: m[1],
      evidence: text(m[2]),
      first: m[3],
      later: m[4],
    }));
    expect(rows.map((r) => r.name)).toEqual(['pushf', 'popf', 'rdmode']);
    for (const { name, first, later } of rows) {
      const expected = report.cells
        .filter((c) => c.engine === 'trap-emulate' && c.silentFailures.some((f) => f.instruction === name))
        .map((c) => c.workload);
      expect(expected.length, name).toBeGreaterThan(0);
      for (const w of expected) expect(`${first} ${later}`, `${name} row`).toContain(w);
    }
    // The kernel's boot-time mode check runs before any critical section: rdmode is where both runs left the
    // reference's path; pushf and popf misbehaved only afterwards.
    const row = (n: string) => rows.find((r) => r.name === n)!;
    expect(row('rdmode').first).toMatch(/^critical-sections \(1×\), hello \(1×\)$/);
    expect(row('rdmode').later).toBe('—');
    expect(row('popf').first).toBe('—');
    expect(row('popf').later).toMatch(/^critical-sections \([\d,]+×\), hello \(\d+×\)$/);
    // Both witnesses: popf is sensitive (supervisor mode, with the word it popped), and it does not trap in user mode.
    expect(row('popf').evidence).toMatch(/control-sensitive: popf in supervisor mode, IF = 0, popping 0x[0-9a-f]+ \(IF bit set\) — IF 0 → 1/);
    expect(row('popf').evidence).toMatch(/no trap: popf in user mode, IF = [01], popping 0x[0-9a-f]+ \(IF bit (set|clear)\) — completed; no #GP/);
    for (const r of rows) expect(r.evidence, r.name).toMatch(/no trap: .* in user mode/);
    // The fidelity matrix names the first misbehaviour first, in the hover text and in the causes table.
    const te = report.cells.find((c) => c.engine === 'trap-emulate' && c.workload === 'critical-sections')!;
    expect(te.fidelity?.cause).toMatch(/^rdmode silently misbehaved once .*; popf silently misbehaved/);
    expect(html).toMatch(/<td class="diverged" title="first difference: status budget-exhausted[^"]*\ncause \(the instruction that misbehaved first comes first\): rdmode silently/);
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
    expect(divergencesBecauseOf('popf', cells)).toEqual([{ workload: '<script>x</script>', count: 4, first: true }]);
    expect(divergencesBecauseOf('rdmode', cells)).toEqual([{ workload: '<script>x</script>', count: 2, first: false }]);
    expect(divergencesBecauseOf('pushf', cells)).toEqual([]);
    const html = popekGoldbergSection(c, cells);
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;x&lt;/script&gt; (4×)');
    expect(html).toContain('&lt;script&gt;x&lt;/script&gt; (2×)');
    expect(popekGoldbergSection(undefined, cells)).toBe('');
  });
});
