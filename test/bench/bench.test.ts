/**
 * The benchmark command: the four outputs, their formats, failures that do not stop the matrix, deterministic
 * counts, and clear errors for bad flags.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { RESULT_COLUMNS } from '../../src/report/csv.js';
import { presetById } from '../../src/metrics/presets.js';
import type { BenchReport } from '../../src/report/model.js';
import { runBench, type BenchPlan } from '../../bench/bench.js';
import { QUICK_TIMING } from '../../bench/matrix.js';
import type { Engine } from '../../strategies/engine.js';
import { engineById } from '../../strategies/registry.js';
import { workloadByName } from '../../workloads/manifest.js';
import { cli } from '../support/cli.js';

const schema = JSON.parse(readFileSync(new URL('../../src/report/results.schema.json', import.meta.url), 'utf8'));
const tmp = () => mkdtempSync(join(tmpdir(), 'virtstrat-bench-'));
const readJson = (dir: string): BenchReport => JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8'));
const readCsv = (dir: string, name: string): Record<string, string>[] => parse(readFileSync(join(dir, name), 'utf8'), { columns: true });

const TIMING_COLUMNS = ['time_mean_ms', 'time_p50_ms', 'time_p99_ms', 'time_rme_pct', 'time_samples', 'guest_mips'];

describe('npm run bench -- --quick on a subset', () => {
  const out = tmp();
  let code = -1;
  it('runs and writes report.html, results.csv, exit_reasons.csv and results.json (and no temporary files)', async () => {
    const r = await cli('bench', '--quick', '--engines', 'native,trap-emulate,dbt,vtx', '--workloads', 'hello,critical-sections', '--out', out);
    code = r.code;
    expect(code, r.err).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['exit_reasons.csv', 'report.html', 'results.csv', 'results.json']);
    expect(r.out).toMatch(/critical-sections .* 1\.00 .*!/); // the summary table marks the diverged cell
    expect(r.out).toMatch(/--quick: small scales, where booting the kernel dominates/);
  });
  it('results.json matches the JSON schema and holds every cell with timing', () => {
    const report = readJson(out);
    const validate = new Ajv({ allErrors: true, validateFormats: false }).compile(schema);
    expect(validate(report), JSON.stringify(validate.errors)).toBe(true);
    expect(report.cells.map((c) => `${c.workload}/${c.engine}`)).toEqual([
      'hello/native', 'hello/trap-emulate', 'hello/dbt', 'hello/vtx',
      'critical-sections/native', 'critical-sections/trap-emulate', 'critical-sections/dbt', 'critical-sections/vtx',
    ]);
    for (const c of report.cells) expect(c.timing?.samples).toBeGreaterThan(0);
    expect(report.environment.node).toBe(process.version);
    // How it was measured travels with the numbers: --quick's timing plan, and the count threads.
    expect(report.options).toMatchObject({ quick: true, timingPlan: QUICK_TIMING, jobs: 1 });
  });
  it('results.csv parses with a standard CSV parser into the documented columns, one row per cell', () => {
    const rows = readCsv(out, 'results.csv');
    const report = readJson(out);
    expect(Object.keys(rows[0])).toEqual(RESULT_COLUMNS.map((c) => c.name));
    expect(rows).toHaveLength(report.cells.length);
    const te = rows.find((r) => r.engine === 'trap-emulate' && r.workload === 'critical-sections')!;
    expect(te.fidelity).toBe('diverged');
    // A message with commas, parentheses and semicolons, quoted: first rdmode's boot check, then pushf and popf.
    expect(te.fidelity_cause).toMatch(/^rdmode silently misbehaved once \(first at 0x[0-9a-f]+, after \d+ instructions\): .*; popf silently misbehaved/);
    expect(Number(te.guest_instructions)).toBe(report.cells.find((c) => c.engine === 'trap-emulate' && c.workload === 'critical-sections')!.counters!.guestInstructions);
    for (const r of rows) for (const col of ['engine', 'workload', 'fidelity', 'guest_instructions', 'vmm_entries', 'exits_per_kinsn', 'modeled_cycles', 'overhead_vs_native', ...TIMING_COLUMNS]) expect(r[col], `${col}`).not.toBe('');
  });
  it('exit_reasons.csv is long format and sums to each cell\'s VMM entries', () => {
    const rows = readCsv(out, 'exit_reasons.csv');
    expect(Object.keys(rows[0])).toEqual(['engine', 'workload', 'kind', 'reason', 'count']);
    for (const c of readJson(out).cells) {
      const sum = rows.filter((r) => r.engine === c.engine && r.workload === c.workload).reduce((n, r) => n + Number(r.count), 0);
      expect(sum, `${c.engine}/${c.workload}`).toBe(c.counters!.vmmEntries);
    }
  });
  it('docs/reports.md documents every column of both CSV files', () => {
    const doc = readFileSync(new URL('../../docs/reports.md', import.meta.url), 'utf8');
    const missing = RESULT_COLUMNS.map((c) => c.name).filter((n) => !doc.includes(`| \`${n}\` |`));
    expect(missing).toEqual([]);
  });
});

describe('determinism and failures', () => {
  it('two runs give identical count columns', async () => {
    const a = tmp();
    const b = tmp();
    for (const d of [a, b]) expect((await cli('bench', '--quick', '--no-timing', '--engines', 'native,paravirt,vtx', '--workloads', 'syscall,pgfault', '--out', d)).code).toBe(0);
    const strip = (rows: Record<string, string>[]) => rows.map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => !TIMING_COLUMNS.includes(k))));
    expect(strip(readCsv(b, 'results.csv'))).toEqual(strip(readCsv(a, 'results.csv')));
    expect(readFileSync(join(b, 'exit_reasons.csv'), 'utf8')).toBe(readFileSync(join(a, 'exit_reasons.csv'), 'utf8'));
  });

  it('an engine that throws becomes an error row with its message; the other cells complete; the command fails at the end', async () => {
    const native = engineById('native')!;
    const broken: Engine = {
      ...native,
      id: 'broken',
      title: 'broken',
      run(spec) {
        if (spec.image.length > 0) throw new Error('boom, "quoted", and, commas');
        return native.run(spec);
      },
    };
    const out = tmp();
    let err = '';
    const plan: BenchPlan = {
      engines: [native, broken, engineById('dbt')!],
      workloads: [workloadByName('hello')!, workloadByName('syscall')!],
      preset: presetById('p4-2006')!,
      isa: 'default',
      scale: null,
      quick: true,
      timing: false,
      out,
    };
    const code = await runBench(plan, { out: () => {}, err: (t) => (err += t), isTTY: false });
    expect(code).toBe(1);
    expect(err).toMatch(/2 of 6 runs FAILED/);
    const report = readJson(out);
    expect(report.summary).toMatchObject({ cells: 6, errors: 2 });
    const rows = readCsv(out, 'results.csv');
    const bad = rows.filter((r) => r.engine === 'broken');
    expect(bad.map((r) => [r.status, r.error])).toEqual([
      ['error', 'Error: boom, "quoted", and, commas'],
      ['error', 'Error: boom, "quoted", and, commas'],
    ]);
    expect(rows.filter((r) => r.engine !== 'broken').every((r) => r.status === 'exited' && r.fidelity === 'exact')).toBe(true);
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toContain('boom, &quot;quoted&quot;, and, commas');
  });
});

describe('bad flags fail at once with the valid values', () => {
  const cases: [string[], RegExp][] = [
    [['--engines', 'native,qemu'], /--engines: unknown 'qemu'. Valid values: native, emulate, trap-emulate, dbt, paravirt, vtx/],
    [['--workloads', 'nope'], /--workloads: unknown 'nope'. Valid values: hello, syscall/],
    [['--preset', 'p3'], /unknown preset 'p3'. Valid presets: p4-2006, sandybridge-2011/],
    [['--isa', 'arm'], /'arm' is not valid. Valid values: default, classic/],
    [['--scale', '0'], /--scale: '0' is not a whole number/],
    [['--speed'], /unknown option '--speed'. Valid options: --engines, --workloads/],
    [['extra'], /bench takes no arguments/],
  ];
  for (const [args, message] of cases) {
    it(args.join(' '), async () => {
      const out = tmp();
      const r = await cli('bench', ...args, '--out', out);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(message);
      expect(existsSync(join(out, 'results.json'))).toBe(false);
    });
  }
});
