/**
 * Scaling the benchmark out: counts on worker threads (`bench --jobs N`) give the serial run's results; a worker
 * that dies costs only its cell; shards (`bench --shard i/n`) merge (`virtstrat merge`) into the unsharded report,
 * and slices that do not belong together are refused.
 */
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { beforeAll, describe, expect, it } from 'vitest';
import { defaultJobs, startClassification } from '../../bench/bench.js';
import { countInWorkers, planCells, runMatrix, shardSlots, type MatrixPlan } from '../../bench/matrix.js';
import { classify } from '../../src/classify/index.js';
import type { BenchReport } from '../../src/report/model.js';
import { ENGINES, engineById } from '../../strategies/registry.js';
import { WORKLOADS, workloadByName } from '../../workloads/manifest.js';
import { P4 } from '../support/engines.js';
import { cli } from '../support/cli.js';

const schema = JSON.parse(readFileSync(new URL('../../src/report/results.schema.json', import.meta.url), 'utf8'));
const tmp = () => mkdtempSync(join(tmpdir(), 'virtstrat-parallel-'));
const readJson = (dir: string): BenchReport => JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8'));
const read = (dir: string, name: string): string => readFileSync(join(dir, name), 'utf8');
const SUBSET = ['--quick', '--no-timing', '--engines', 'native,dbt,paravirt', '--workloads', 'hello,syscall'];

describe('bench --jobs and --shard on a quick subset', () => {
  const serial = tmp();
  const shards = [tmp(), tmp()];
  beforeAll(async () => {
    for (const [dir, ...flags] of [[serial], [shards[0], '--shard', '1/2'], [shards[1], '--shard', '2/2']]) {
      const r = await cli('bench', ...SUBSET, '--jobs', '1', ...flags, '--out', dir);
      expect(r.code, r.err).toBe(0);
    }
  });

  it('--jobs 2 counts on worker threads and writes the same results as --jobs 1 (order, counters, reasons, details)', async () => {
    const out = tmp();
    const r = await cli('bench', ...SUBSET, '--jobs', '2', '--out', out);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/counts on 2 worker threads/);
    expect(readJson(out).cells).toEqual(readJson(serial).cells);
    // (The classification was computed on a thread of its own, beside the counts.)
    expect(readJson(out).classification).toEqual(readJson(serial).classification);
    expect(read(out, 'results.csv')).toBe(read(serial, 'results.csv'));
    expect(read(out, 'exit_reasons.csv')).toBe(read(serial, 'exit_reasons.csv'));
  });

  it('shards 1/2 and 2/2 split the cells between them, and merge into the unsharded report', async () => {
    const validate = new Ajv({ allErrors: true, validateFormats: false, allowUnionTypes: true }).compile(schema);
    const slices = shards.map(readJson);
    for (const s of slices) expect(validate(s), JSON.stringify(validate.errors)).toBe(true);
    expect(slices.map((s) => s.shard)).toEqual([{ index: 1, count: 2 }, { index: 2, count: 2 }]);
    expect(slices.map((s) => s.cells.length)).toEqual([3, 3]);

    const merged = tmp();
    const m = await cli('merge', shards[1], join(shards[0], 'results.json'), '--out', merged);
    expect(m.code, m.err).toBe(0);
    const report = readJson(merged);
    expect(report.shard).toBeUndefined();
    expect(validate(report), JSON.stringify(validate.errors)).toBe(true);
    expect(report.cells).toEqual(readJson(serial).cells);
    expect(report.summary).toEqual(readJson(serial).summary);
    expect(read(merged, 'results.csv')).toBe(read(serial, 'results.csv'));
    expect(read(merged, 'exit_reasons.csv')).toBe(read(serial, 'exit_reasons.csv'));
    expect(read(merged, 'report.html')).toContain('<svg');
  });

  describe('merge refuses slices that do not make one run (exit 2, saying why)', () => {
    const dirs = shards;
    /** A copy of a shard (by default shard 2) with its results.json changed. */
    const tampered = (change: (r: BenchReport) => void, from = dirs[1]): string => {
      const dir = tmp();
      cpSync(from, dir, { recursive: true });
      const r = readJson(dir);
      change(r);
      writeFileSync(join(dir, 'results.json'), JSON.stringify(r));
      return dir;
    };
    const cases: [string, () => string[], RegExp][] = [
      ['another preset', () => [dirs[0], tampered((r) => (r.options.preset = 'sandybridge-2011'))], /they differ in preset/],
      ['another ISA', () => [dirs[0], tampered((r) => (r.options.isa = 'classic'))], /they differ in ISA/],
      ['another scale', () => [dirs[0], tampered((r) => (r.options.scale = 7))], /they differ in scale/],
      ['another virtstrat version', () => [dirs[0], tampered((r) => (r.generator = 'virtstrat 9.9.9'))], /they differ in virtstrat version/],
      ['another commit', () => [tampered((r) => (r.environment.gitCommit = 'a'.repeat(40)), dirs[0]), tampered((r) => (r.environment.gitCommit = 'f'.repeat(40)))], /ran different commits/],
      ['a missing shard', () => [dirs[0]], /shard 2\/2 missing/],
      ['the same shard twice', () => [dirs[0], dirs[0], dirs[1]], /shard 1\/2 is given twice/],
      ['overlapping cells', () => [dirs[0], tampered((r) => r.cells.push(readJson(dirs[0]).cells[0]))], /the cell native × hello is in both/],
      ['a whole report', () => [tampered((r) => delete r.shard)], /is not a shard/],
      ['a folder without results.json', () => [tmp()], /cannot read .*results\.json/],
    ];
    for (const [what, inputs, message] of cases) {
      it(what, async () => {
        const out = tmp();
        const r = await cli('merge', ...inputs(), '--out', out);
        expect(r.code).toBe(2);
        expect(r.err).toMatch(message);
      });
    }
  });

  it('--shard must be I/N with 1 <= I <= N, and at most one shard per cell', async () => {
    for (const bad of ['0/2', '3/2', '2', 'a/b']) {
      const r = await cli('bench', '--quick', '--shard', bad, '--out', tmp());
      expect(r.code, bad).toBe(2);
      expect(r.err).toMatch(/--shard: .* is not I\/N/);
    }
    const r = await cli('bench', '--engines', 'native', '--workloads', 'hello,syscall', '--shard', '1/3', '--out', tmp());
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--shard: 3 shards for 2 cells; use at most 2/);
  });
});

describe('worker threads that fail', () => {
  const plan: MatrixPlan = {
    engines: ['native', 'dbt'].map((id) => engineById(id)!),
    workloads: [workloadByName('hello')!, workloadByName('syscall')!],
    preset: P4,
    isa: 'default',
    scaleOf: (w) => w.quickScale,
    timing: null,
  };
  it('a worker that dies while counting a cell makes that cell an error row; the other cells are counted', async () => {
    const records = await countInWorkers(plan, planCells(plan), 2, () => {}, '../test/bench/fixtures/dying-worker.ts');
    expect(records.map((r) => `${r.workload}/${r.engine}:${r.status}`)).toEqual(['hello/native:exited', 'hello/dbt:error', 'syscall/native:exited', 'syscall/dbt:error']);
    expect(records[1].error).toMatch(/count worker stopped \(exit code 7\)/);
  });

  it('a classification thread that cannot start leaves the classification to the main thread', async () => {
    const c = await startClassification({ jobs: 2, isa: 'classic' }, '../test/bench/fixtures/no-such-worker.ts');
    expect(c).toEqual(classify('classic'));
  });

  it('workers that cannot start leave the counting to the main thread: the records are complete', async () => {
    const records = await countInWorkers(plan, planCells(plan), 2, () => {}, '../test/bench/fixtures/no-such-worker.ts');
    expect(records).toEqual(await runMatrix(plan));
  });
});

describe('the default --jobs', () => {
  it('is one thread on one or two CPUs (a serial run already keeps ~1.4 busy), else one worker per CPU up to 8', () => {
    expect([1, 2, 3, 4, 8, 16].map(defaultJobs)).toEqual([1, 1, 3, 4, 8, 8]);
  });
});

describe('shard slots', () => {
  it('give every shard the same number of cells (give or take one) and more than one engine', () => {
    for (const count of [1, 2, 3, 4, 5, 6, 7, 8, 16]) {
      const slots = shardSlots(WORKLOADS.length, ENGINES.length, count);
      const sizes = Array.from({ length: count }, (_, s) => slots.filter((x) => x === s).length);
      expect(Math.max(...sizes) - Math.min(...sizes), `${count} shards`).toBeLessThanOrEqual(1);
      for (let s = 0; s < count; s++) {
        const engines = new Set(slots.flatMap((x, i) => (x === s ? [i % ENGINES.length] : [])));
        expect(engines.size, `shard ${s + 1}/${count}`).toBeGreaterThan(1);
      }
    }
  });
});
