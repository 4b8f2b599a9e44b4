/**
 * `virtstrat perf`: the JSON it prints has the documented shape, the plain-JavaScript baselines' answers are
 * checked against the manifest, and every engine is timed cold and warm in processes of its own. Speed itself is
 * never asserted here (a shared CI machine would make that flaky): speed targets live in perf's output only.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { BASELINES } from '../../bench/perf-baseline.js';
import type { PerfReport, PerfScaling, PerfWorkloadResult } from '../../bench/perf.js';
import { workloadByName } from '../../workloads/manifest.js';
import { cli } from '../support/cli.js';

const ENGINES = ['emulate', 'dbt'];

describe('perf --quick --json on a tiny configuration (emulate and dbt, sieve, one warm-up run, one warm run)', () => {
  let json: Record<string, unknown> = {};
  let progress = '';
  beforeAll(async () => {
    const r = await cli('perf', '--quick', '--json', '--engines', ENGINES.join(','), '--workloads', 'sieve', '--warmup', '1', '--runs', '1');
    expect(r.code, r.err).toBe(0);
    json = JSON.parse(r.out) as Record<string, unknown>;
    progress = r.err;
  }, 60_000);
  const workload = (name: string): PerfWorkloadResult => json[name] as PerfWorkloadResult;

  it("checked the plain-JavaScript baseline's answer against the manifest and timed it cold and warm", () => {
    const sieve = workload('sieve');
    expect(sieve.scale).toBe(workloadByName('sieve')!.quickScale);
    expect(sieve.baseline_checked).toBe(true);
    expect(sieve.baseline_answer).toBe(workloadByName('sieve')!.expected(sieve.scale));
    expect(sieve.baseline_ms).toBeGreaterThan(0);
    expect(sieve.baseline_cold_ms).toBeGreaterThan(0);
  });

  it('timed every engine in a process of its own: cold run, warm-up apart, warm runs, guest MIPS, ratio to plain JavaScript', () => {
    const sieve = workload('sieve');
    expect(Object.keys(sieve.engines)).toEqual(ENGINES);
    for (const id of ENGINES) {
      const e = sieve.engines[id];
      expect(e.error, id).toBeNull();
      expect(e.output_correct, id).toBe(true);
      // The warm-up run is reported but is not the warm run the median is taken of.
      expect(e.warmup_runs_ms).toHaveLength(1);
      expect(e.warm_runs_ms).toHaveLength(1);
      expect(e.warm_ms).toBe(e.warm_runs_ms[0]);
      for (const k of ['cold_ms', 'warm_ms', 'mips', 'cold_mips', 'ratio_to_native', 'max_rss_mb'] as const) expect(e[k], `${id} ${k}`).toBeGreaterThan(0);
    }
    // Both run the unmodified guest: the same instructions, so MIPS compare like for like.
    expect(sieve.engines.dbt.guest_instructions).toBe(sieve.engines.emulate.guest_instructions);
    // baseline, engines, kernel-heavy, scaling (its full-scale dbt point is the sieve variant above, measured once)
    expect(progress.match(/^perf: .* × .*: cold /gm)).toHaveLength(1 + 2 + 4 + 2);
  });

  it('reports the host speed-up of dbt over emulate on the kernel-heavy workloads', () => {
    const d = json.dbt_over_emulate as PerfReport['dbt_over_emulate'];
    expect(Object.keys(d ?? {})).toEqual(['syscall', 'critical-sections']);
    for (const name of ['syscall', 'critical-sections']) {
      expect(d![name]).toBeGreaterThan(0);
      const w = workload(name);
      expect(w.baseline_ms).toBeNull();
      expect(d![name]).toBeCloseTo(w.engines.emulate.warm_ms! / w.engines.dbt.warm_ms!, 9);
    }
  });

  it('reports the scaling workload at three scales: ns per guest instruction and peak memory', () => {
    const s = json.scaling as PerfScaling;
    expect(s.workload).toBe('sieve');
    expect(s.scales).toHaveLength(3);
    expect([...s.scales].sort((a, b) => a - b)).toEqual(s.scales);
    expect(Object.keys(s.engines)).toEqual(['dbt']); // native was not asked for
    const points = s.engines.dbt;
    expect(points.map((p) => p.scale)).toEqual(s.scales);
    for (const p of points) {
      expect(p.error).toBeNull();
      expect(p.ns_per_instruction).toBeGreaterThan(0);
      expect(p.max_rss_mb).toBeGreaterThan(0);
    }
    expect(points[2].guest_instructions!).toBeGreaterThan(points[0].guest_instructions!);
    expect(s.spread.dbt).toBeGreaterThanOrEqual(1);
  });

  it('docs/perf.md documents every key of the JSON', () => {
    const doc = readFileSync(new URL('../../docs/perf.md', import.meta.url), 'utf8');
    const sieve = workload('sieve');
    const s = json.scaling as PerfScaling;
    const keys = [
      ...Object.keys(json).filter((k) => !(k in BASELINES) && !['syscall', 'critical-sections'].includes(k)),
      ...Object.keys(sieve),
      ...Object.keys(sieve.engines.dbt),
      ...Object.keys(s),
      ...Object.keys(s.engines.dbt[0]),
      ...Object.keys(json.options as object),
    ];
    expect(keys.filter((k) => !doc.includes(`\`${k}\``))).toEqual([]);
  });

  it('the baselines print exactly what the manifest expects at other scales too', () => {
    for (const [name, baseline] of Object.entries(BASELINES)) {
      for (const scale of [2, 3, 17, 100]) expect(baseline(scale), `${name} ${scale}`).toBe(workloadByName(name)!.expected(scale));
    }
  });
});

describe('perf flags', () => {
  it('--workloads takes only workloads with a plain-JavaScript baseline', async () => {
    const r = await cli('perf', '--workloads', 'syscall');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--workloads: unknown 'syscall'. Valid values: sieve, crc32, matmul/);
  });

  it('--warmup takes a whole number from 0 (no warm-up); --runs from 1', async () => {
    const warmup = await cli('perf', '--warmup=-1');
    expect(warmup.code).toBe(2);
    expect(warmup.err).toMatch(/--warmup: '-1' is not a whole number between 0 and 1000/);
    const runs = await cli('perf', '--runs', '0');
    expect(runs.code).toBe(2);
    expect(runs.err).toMatch(/--runs: '0' is not a whole number between 1 and 1000/);
  });
});
