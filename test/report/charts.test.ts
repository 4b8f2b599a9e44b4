/**
 * The report's charts as specifications and as rendered SVG: what each one is computed from, fixed colours,
 * fading of diverged runs, log axes with a grid line per decade, and a breakdown chart that fits a slide.
 */
import { describe, expect, it } from 'vitest';
import { COST_CATEGORIES } from '../../src/metrics/cost.js';
import { ENTRY_KINDS } from '../../src/metrics/counters.js';
import { charts, type ChartDef } from '../../src/report/charts.js';
import { renderChart, renderHtml } from '../../src/report/html.js';
import { cell, report } from './fixture.js';

const ENGINES = ['native', 'emulate', 'trap-emulate', 'dbt', 'paravirt', 'vtx', 'vtx-ept'];
const WORKLOADS = ['hello', 'syscall', 'in', 'prio-write', 'call-ret', 'divzero', 'pgfault', 'ptemod', 'forkwait', 'critical-sections', 'sieve', 'crc32', 'matmul', 'multitask', 'io', 'smc', 'mixed'];

/** A full matrix: every engine on every workload, trap-emulate diverged everywhere (as on the default ISA). */
function fullReport() {
  const cells = WORKLOADS.flatMap((w, i) =>
    ENGINES.map((e, j) =>
      cell({
        engine: e,
        workload: w,
        overhead: e === 'native' ? 1 : e === 'emulate' ? 100 + i : 1 + j / 2,
        verdict: e === 'trap-emulate' ? 'diverged' : 'exact',
        cycles: e === 'native' ? { direct: 900, device: 100 } : { direct: 500, trap: 300 + i, exit: 200, mmu: 50 * j },
        counters: { vmmEntries: e === 'native' || e === 'emulate' ? 0 : 10 + i, exitsPerKInsn: e === 'native' || e === 'emulate' ? 0 : 0.5 + i, blocksTranslated: e === 'dbt' ? 100 : 0, cacheHits: e === 'dbt' ? 1e5 : 0, tracedWrites: 3 },
        reasons: e === 'native' || e === 'emulate' ? [] : [{ kind: e === 'vtx' || e === 'vtx-ept' ? 'vm-exit' : 'trap', reason: e === 'trap-emulate' ? 'cli' : 'out', count: e === 'trap-emulate' ? 1_000_000 : 10 + i }],
        mips: 10 + j,
      }),
    ),
  );
  return report(cells, {}, ['pgfault', 'ptemod', 'forkwait', 'multitask']);
}

const byId = (defs: ChartDef[], id: string): ChartDef => {
  const c = defs.find((d) => d.id === id);
  if (!c) throw new Error(`no chart ${id}`);
  return c;
};

type Json = Record<string, unknown>;
/** Every `encoding` object of a spec, however deeply layered or faceted. */
function encodings(spec: unknown): Json[] {
  if (spec === null || typeof spec !== 'object') return [];
  const o = spec as Json;
  const own = o.encoding ? [o.encoding as Json] : [];
  return [...own, ...Object.entries(o).filter(([k]) => k !== 'encoding' && k !== 'data').flatMap(([, v]) => (Array.isArray(v) ? v.flatMap(encodings) : encodings(v)))];
}
const dataOf = (c: ChartDef): Json[] => ((c.spec as { data: { values: Json[] } }).data.values);

describe('Where the cycles go', () => {
  it('takes each run\'s overhead from its cell, not from a native cell: a report without native labels dbt hello 13×', async () => {
    const r = report([
      cell({ engine: 'dbt', workload: 'hello', overhead: 13.3, cycles: { translated: 330, translation: 1000 } }),
      cell({ engine: 'vtx', workload: 'hello', overhead: 3.14, cycles: { direct: 214, exit: 100 } }),
    ]);
    const data = dataOf(byId(charts(r), 'cycles-breakdown'));
    expect(data.filter((d) => d.label).map((d) => [d.engine, d.label])).toEqual([
      ['dbt', '13×'],
      ['vtx', '3.14×'],
    ]);
    // The overhead table's reference column is filled from the same overheads: 1,330 / 13.3 = 100.
    const html = await renderHtml(r);
    const row = /<tr><th>hello<\/th><td>1<\/td><td>([^<]*)<\/td>/.exec(html);
    expect(row?.[1]).toBe('100');
  });

  it('draws each bar as the composition of its run: the shares of every cell sum to 1', () => {
    const data = dataOf(byId(charts(fullReport()), 'cycles-breakdown')).filter((d) => d.category);
    const sums = new Map<string, number>();
    for (const d of data) sums.set(`${d.engine}/${d.workload}`, (sums.get(`${d.engine}/${d.workload}`) ?? 0) + (d.share as number));
    expect(sums.size).toBe(ENGINES.length * WORKLOADS.length);
    for (const [k, s] of sums) expect(s, k).toBeCloseTo(1, 9);
    const x = encodings(byId(charts(fullReport()), 'cycles-breakdown').spec).find((e) => (e.x as Json | undefined)?.field === 'cycles')!.x as Json;
    expect(x.stack).toBe('normalize');
  });

  it('fits a slide: 7 engines × 17 workloads render under 1,250 × 500 px', async () => {
    const svg = await renderChart(byId(charts(fullReport()), 'cycles-breakdown'));
    const [, w, h] = /<svg[^>]*width="([\d.]+)" height="([\d.]+)"/.exec(svg)!.map(Number);
    expect(w).toBeLessThan(1250);
    expect(h).toBeLessThan(500);
  });
});

describe('colours', () => {
  it('every colour scale has an explicit domain and range, the same in a subset as in the full matrix', () => {
    const full = charts(fullReport());
    const subset = charts(report([cell({ engine: 'vtx', workload: 'hello', overhead: 2, cycles: { direct: 1, exit: 1 }, counters: { vmmEntries: 1, exitsPerKInsn: 1 }, reasons: [{ kind: 'vm-exit', reason: 'x', count: 1 }] })]));
    for (const defs of [full, subset]) {
      for (const d of defs) {
        for (const e of encodings(d.spec).filter((x) => x.color)) {
          const scale = (e.color as Json).scale as { domain?: string[]; range?: string[] } | undefined;
          expect(scale?.domain, `${d.id} colour domain`).toBeDefined();
          expect(scale?.range?.length, `${d.id} colour range`).toBe(scale?.domain?.length);
        }
      }
    }
    const colorOf = (defs: ChartDef[], id: string) => encodings(byId(defs, id).spec).find((e) => e.color)!.color as Json;
    // The full key lists, whatever the run contains.
    const categories = colorOf(subset, 'cycles-breakdown').scale as { domain: string[] };
    expect([...categories.domain].sort()).toEqual([...COST_CATEGORIES].sort());
    expect((colorOf(subset, 'exit-reasons').scale as { domain: string[] }).domain).toEqual([...ENTRY_KINDS]);
    for (const id of ['cycles-breakdown', 'exit-reasons', 'dbt-cache']) expect(colorOf(subset, id).scale, id).toEqual(colorOf(full, id).scale);
  });
});

describe('diverged runs', () => {
  it('are faded in every per-cell chart', () => {
    const defs = charts(fullReport());
    for (const id of ['overhead', 'exit-rate', 'cycles-breakdown', 'dbt-cache', 'throughput', 'memory-events']) {
      const d = byId(defs, id);
      const bars = encodings(d.spec).filter((e) => (e.x as Json | undefined)?.field || (e.y as Json | undefined)?.field); // not the reference rule
      expect(bars.length, id).toBeGreaterThan(0);
      for (const e of bars) expect((e.opacity as Json | undefined)?.field, `${id} fades by run`).toBe('run');
      const te = dataOf(d).filter((x) => x.engine === 'trap-emulate');
      if (id !== 'dbt-cache') expect(te.length, id).toBeGreaterThan(0);
      for (const x of te) expect(x.run, id).toBe('diverged');
    }
  });

  it('are explained by the overhead chart\'s legend', async () => {
    const svg = await renderChart(byId(charts(fullReport()), 'overhead'));
    expect(svg).toMatch(/>run<\/text>/);
    expect(svg).toMatch(/>diverged \(faded\)<\/text>/);
  });

  it('are left out of the aggregated reasons chart, and the caption says so', () => {
    const d = byId(charts(fullReport()), 'exit-reasons');
    expect(dataOf(d).map((x) => x.engine)).not.toContain('trap-emulate');
    expect(dataOf(d).map((x) => x.reason)).not.toContain('cli');
    expect(d.howToRead).toContain('Left out: the runs that diverged from the reference — all 17 runs of trap-emulate (so trap-emulate has no bars)');
  });
});

describe('hover text in a static report (no script runs, so no vega tooltips)', () => {
  it('every bar of a chart carries a <title> with its data, which browsers show on hover', async () => {
    const svg = await renderChart(byId(charts(fullReport()), 'overhead'));
    const bars = svg.match(/aria-roledescription="bar"/g) ?? [];
    const titled = svg.match(/<path [^>]*aria-roledescription="bar"[^>]*><title>[^<]*engine: [^<]*<\/title><\/path>/g) ?? [];
    expect(bars.length).toBeGreaterThan(10);
    expect(titled.length).toBe(bars.length);
  });
});

describe('log axes', () => {
  it('have a tick and a grid line at each power of ten and nowhere else, and the captions say so', () => {
    for (const d of charts(fullReport())) {
      for (const e of encodings(d.spec)) {
        for (const ch of ['x', 'y'] as const) {
          const enc = e[ch] as { scale?: { type?: string; domain?: number[] }; axis?: { values?: number[] } } | undefined;
          if (enc?.scale?.type !== 'log') continue;
          const values = enc.axis?.values ?? [];
          expect(values.length, d.id).toBeGreaterThan(1);
          for (const v of values) expect(Number.isInteger(Math.log10(v)), `${d.id}: ${v}`).toBe(true);
          expect(enc.scale.domain).toEqual([values[0], values[values.length - 1]]);
          expect(d.howToRead, d.id).toMatch(/each grid line is ten times the one below/);
        }
      }
    }
  });
});

describe('the memory chart caption', () => {
  it('names the dearest engine per paging workload from the run, leaving out emulate and diverged runs', () => {
    const c = (engine: string, workload: string, overhead: number, verdict: 'exact' | 'diverged' = 'exact') =>
      cell({ engine, workload, overhead, verdict, cycles: { direct: 1 }, counters: { tracedWrites: 1 } });
    const r = report(
      [
        c('native', 'pgfault', 1), c('emulate', 'pgfault', 100), c('trap-emulate', 'pgfault', 50, 'diverged'), c('dbt', 'pgfault', 6.9), c('vtx', 'pgfault', 6),
        c('native', 'ptemod', 1), c('emulate', 'ptemod', 70), c('dbt', 'ptemod', 13), c('vtx', 'ptemod', 15),
      ],
      {},
      ['pgfault', 'ptemod'],
    );
    const caption = byId(charts(r), 'memory-events').howToRead;
    expect(caption).toContain('the dearest engine that ran exactly is, in this run, dbt on pgfault and vtx on ptemod.');
    expect(caption).not.toMatch(/which is why/);
  });
});
