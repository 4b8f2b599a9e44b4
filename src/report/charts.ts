/**
 * The report's charts, as vega-lite specifications built from the report model. Rendering them to SVG is
 * html.ts's job; keeping the specs as data here makes them easy to test and to reuse.
 */
import type { TopLevelSpec } from 'vega-lite';
import { COST_CATEGORIES } from '../metrics/cost.js';
import type { BenchReport, CellRecord } from './model.js';

export interface ChartDef {
  id: string;
  title: string;
  /** One paragraph: what the chart shows and how to read it. */
  howToRead: string;
  spec: TopLevelSpec;
  /** The report section the chart belongs to (default: the charts section). */
  section?: 'memory';
}

/** The memory-virtualization events each engine counts, in the order the memory chart stacks them. */
export const MEMORY_EVENTS: readonly { key: 'tracedWrites' | 'hiddenPageFaults' | 'truePageFaults' | 'shadowSwitches' | 'eptViolations' | 'validatedPageTableUpdates'; label: string }[] = [
  { key: 'tracedWrites', label: 'traced page-table writes' },
  { key: 'hiddenPageFaults', label: 'hidden page faults' },
  { key: 'truePageFaults', label: 'true page faults (reflected)' },
  { key: 'shadowSwitches', label: 'shadow switches' },
  { key: 'eptViolations', label: 'EPT violations' },
  { key: 'validatedPageTableUpdates', label: 'validated paravirtual updates' },
];

/** Engine colours, the same in every chart (engines not listed get the fallback palette in order). */
const ENGINE_COLORS: Record<string, string> = {
  native: '#7f7f7f',
  emulate: '#9467bd',
  'trap-emulate': '#d62728',
  dbt: '#ff7f0e',
  paravirt: '#2ca02c',
  vtx: '#1f77b4',
  'vtx-ept': '#17becf',
};
const FALLBACK = ['#8c564b', '#e377c2', '#bcbd22', '#17becf', '#aec7e8', '#ffbb78'];

function engineScale(report: BenchReport): { domain: string[]; range: string[] } {
  const domain = report.engines.map((e) => e.id);
  let k = 0;
  return { domain, range: domain.map((id) => ENGINE_COLORS[id] ?? FALLBACK[k++ % FALLBACK.length]) };
}

// Log-scale bars need `stack: null`: a stacked bar starts at 0, which has no place on a log axis (vega-lite
// would then collapse the whole scale); unstacked, a bar runs from the bottom of the axis to its value.
const CONFIG = {
  font: 'Helvetica, Arial, sans-serif',
  background: 'white',
  view: { stroke: '#ddd' },
  axis: { labelFontSize: 11, titleFontSize: 12 },
  legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 280 },
  title: { fontSize: 14, anchor: 'start' as const },
};

const ok = (c: CellRecord): boolean => c.status !== 'error' && c.counters !== null;

function base(title: string): Pick<TopLevelSpec, '$schema' | 'title' | 'config'> {
  return { $schema: 'https://vega.github.io/schema/vega-lite/v6.json', title, config: CONFIG };
}

export function charts(report: BenchReport): ChartDef[] {
  const engineColor = { field: 'engine', type: 'nominal' as const, title: 'engine', scale: engineScale(report), sort: report.engines.map((e) => e.id) };
  const workloadOrder = report.workloads.map((w) => w.name);
  const cells = report.cells.filter(ok);
  const out: ChartDef[] = [];

  out.push({
    id: 'overhead',
    title: 'Modeled overhead vs native',
    howToRead:
      'For each workload, one bar per engine: its modeled cycles divided by the reference run\'s (the native bar is 1; the line marks it). ' +
      'The scale is logarithmic: each grid step is a factor. Faded bars diverged from the reference (see the fidelity matrix): their cost is the cost of a wrong run.',
    spec: {
      ...base('Modeled overhead vs native (log scale)'),
      data: {
        values: cells.map((c) => ({ workload: c.workload, engine: c.engine, overhead: c.overheadVsNative, exact: c.fidelity?.verdict === 'exact' })),
      },
      width: 48 * report.workloads.length,
      height: 280,
      layer: [
        {
          mark: { type: 'bar' },
          encoding: {
            x: { field: 'workload', type: 'nominal', sort: workloadOrder, title: null, axis: { labelAngle: -35 } },
            xOffset: { field: 'engine', sort: report.engines.map((e) => e.id) },
            y: { field: 'overhead', type: 'quantitative', scale: { type: 'log' }, stack: null, title: 'modeled cycles / native' },
            color: engineColor,
            opacity: { condition: { test: 'datum.exact', value: 1 }, value: 0.35 },
            tooltip: [{ field: 'engine' }, { field: 'workload' }, { field: 'overhead', format: '.3f' }, { field: 'exact' }],
          },
        },
        { mark: { type: 'rule', color: '#333', strokeDash: [4, 3] }, encoding: { y: { datum: 1 } } },
      ],
    },
  });

  const vmmCells = cells.filter((c) => (c.counters?.vmmEntries ?? 0) > 0);
  out.push({
    id: 'exit-rate',
    title: 'Exit rate',
    howToRead:
      'VMM entries (traps, callouts, hypercalls, VM exits, host interrupts) per 1,000 guest instructions. Engines that never enter a VMM ' +
      '(native, emulate) have no bar. The scale is logarithmic because rates span decades: exit frequency matters more than exit cost.',
    spec: {
      ...base('VMM entries per 1,000 guest instructions (log scale)'),
      data: { values: vmmCells.map((c) => ({ workload: c.workload, engine: c.engine, rate: c.counters?.exitsPerKInsn ?? 0 })) },
      width: 48 * report.workloads.length,
      height: 260,
      mark: 'bar',
      encoding: {
        x: { field: 'workload', type: 'nominal', sort: workloadOrder, title: null, axis: { labelAngle: -35 } },
        xOffset: { field: 'engine', sort: report.engines.map((e) => e.id) },
        y: { field: 'rate', type: 'quantitative', scale: { type: 'log' }, stack: null, title: 'entries per 1,000 instructions' },
        color: engineColor,
        tooltip: [{ field: 'engine' }, { field: 'workload' }, { field: 'rate', format: '.3f' }],
      },
    },
  });

  const nativeTotal = new Map(cells.filter((c) => c.engine === 'native').map((c) => [c.workload, c.cycles?.total ?? 0]));
  const breakdown = cells.flatMap((c) =>
    COST_CATEGORIES.filter((k) => (c.cycles?.byCategory[k] ?? 0) > 0).map((k) => ({
      workload: c.workload,
      engine: c.engine,
      category: k,
      relative: (c.cycles?.byCategory[k] ?? 0) / (nativeTotal.get(c.workload) || c.cycles?.total || 1),
    })),
  );
  out.push({
    id: 'cycles-breakdown',
    title: 'Where the cycles go',
    howToRead:
      'For each workload and engine, the modeled cycles split by category (directly executed instructions, interpretation, traps, ' +
      'callouts, VM exits, VMCS accesses, translation, ...), relative to the native total. The bar length is the overhead of the ' +
      'first chart; the colours show which mechanism pays for it. Each workload has its own horizontal scale.',
    spec: {
      ...base('Modeled cycles by category, relative to native'),
      data: { values: breakdown },
      facet: { row: { field: 'workload', type: 'nominal', sort: workloadOrder, title: null, header: { labelAngle: 0, labelAlign: 'left' } } },
      spec: {
        width: 520,
        height: { step: 12 },
        mark: 'bar',
        encoding: {
          y: { field: 'engine', type: 'nominal', sort: report.engines.map((e) => e.id), title: null },
          x: { field: 'relative', type: 'quantitative', stack: 'zero', title: 'cycles / native cycles' },
          color: { field: 'category', type: 'nominal', sort: [...COST_CATEGORIES], title: 'category', scale: { scheme: 'tableau20' } },
          tooltip: [{ field: 'engine' }, { field: 'workload' }, { field: 'category' }, { field: 'relative', format: '.3f' }],
        },
      },
      resolve: { scale: { x: 'independent' } },
    },
  });

  const byReason = new Map<string, { engine: string; kind: string; reason: string; count: number }>();
  for (const c of cells) {
    for (const r of c.reasons) {
      const key = `${c.engine}\u0000${r.kind}\u0000${r.reason}`;
      const e = byReason.get(key) ?? { engine: c.engine, kind: r.kind, reason: r.reason, count: 0 };
      e.count += r.count;
      byReason.set(key, e);
    }
  }
  const topReasons = report.engines.flatMap((eng) =>
    [...byReason.values()]
      .filter((x) => x.engine === eng.id)
      .sort((a, b) => b.count - a.count)
      .slice(0, 12)
      .map((x) => ({ ...x, label: `${x.kind}: ${x.reason}` })),
  );
  out.push({
    id: 'exit-reasons',
    title: 'VMM entries by reason',
    howToRead:
      'Every workload together: the twelve most frequent reasons each engine entered its VMM, coloured by kind. VT-x exits carry ' +
      'Intel\'s basic exit-reason number; traps and callouts name the instruction or exception; hypercalls their number.',
    spec: {
      ...base('VMM entries by reason (all workloads, log scale)'),
      data: { values: topReasons },
      facet: { row: { field: 'engine', type: 'nominal', sort: report.engines.map((e) => e.id), title: null, header: { labelAngle: 0, labelAlign: 'left' } } },
      spec: {
        width: 420,
        height: { step: 14 },
        mark: 'bar',
        encoding: {
          y: { field: 'label', type: 'nominal', sort: '-x', title: null, axis: { labelLimit: 320 } },
          x: { field: 'count', type: 'quantitative', scale: { type: 'log' }, stack: null, title: 'entries' },
          color: { field: 'kind', type: 'nominal', title: 'kind' },
          tooltip: [{ field: 'engine' }, { field: 'kind' }, { field: 'reason' }, { field: 'count' }],
        },
      },
      resolve: { scale: { y: 'independent' } },
    },
  });

  const dbtCells = cells.filter((c) => (c.counters?.blocksTranslated ?? 0) > 0);
  const cacheMetrics: [string, string][] = [
    ['blocksTranslated', 'blocks translated'],
    ['cacheHits', 'cache hits'],
    ['cacheMisses', 'cache misses'],
    ['chainedTransitions', 'chained transitions'],
    ['invalidations', 'invalidations'],
    ['cacheFlushes', 'flushes'],
  ];
  out.push({
    id: 'dbt-cache',
    title: 'Translation cache',
    howToRead:
      'The binary translator\'s cache per workload: blocks translated (misses), lookups that hit, transitions that followed a chained ' +
      'link without any lookup, and blocks invalidated because the guest wrote to their page (the smc workload). Log scale; zero is not drawn.',
    spec: {
      ...base('Translation-cache statistics (log scale)'),
      data: {
        values: dbtCells.flatMap((c) =>
          cacheMetrics.map(([k, label]) => ({ workload: c.workload, engine: c.engine, metric: label, value: c.counters?.[k] ?? 0 })).filter((x) => x.value > 0),
        ),
      },
      width: 48 * Math.max(1, new Set(dbtCells.map((c) => c.workload)).size),
      height: 240,
      mark: 'bar',
      encoding: {
        x: { field: 'workload', type: 'nominal', sort: workloadOrder, title: null, axis: { labelAngle: -35 } },
        xOffset: { field: 'metric', sort: cacheMetrics.map(([, l]) => l) },
        y: { field: 'value', type: 'quantitative', scale: { type: 'log' }, stack: null, title: 'count' },
        color: { field: 'metric', type: 'nominal', sort: cacheMetrics.map(([, l]) => l), title: 'statistic' },
        tooltip: [{ field: 'engine' }, { field: 'workload' }, { field: 'metric' }, { field: 'value' }],
      },
    },
  });

  const timed = cells.filter((c) => c.timing !== null);
  out.push({
    id: 'throughput',
    title: 'Host throughput',
    howToRead:
      'How fast the simulator itself runs: million guest instructions per host second (wall clock, tinybench mean). This measures ' +
      'virtstrat on this machine, not the modeled systems — it is reported beside the counts and never changes them.' +
      (timed.length === 0 ? ' This run was made with --no-timing, so there is nothing to show.' : ''),
    spec: {
      ...base('Simulator throughput: guest MIPS on this host (log scale)'),
      data: { values: timed.map((c) => ({ workload: c.workload, engine: c.engine, mips: c.timing?.guestMips ?? 0, ms: c.timing?.meanMs ?? 0 })) },
      width: 48 * report.workloads.length,
      height: 240,
      mark: 'bar',
      encoding: {
        x: { field: 'workload', type: 'nominal', sort: workloadOrder, title: null, axis: { labelAngle: -35 } },
        xOffset: { field: 'engine', sort: report.engines.map((e) => e.id) },
        y: { field: 'mips', type: 'quantitative', scale: { type: 'log' }, stack: null, title: 'guest MIPS' },
        color: engineColor,
        tooltip: [{ field: 'engine' }, { field: 'workload' }, { field: 'mips', format: '.1f' }, { field: 'ms', format: '.2f', title: 'ms per run' }],
      },
    },
  });
  const paging = report.workloads.filter((w) => w.paging).map((w) => w.name);
  const memoryEvents = cells
    .filter((c) => paging.includes(c.workload) && c.engine !== 'native')
    .flatMap((c) =>
      MEMORY_EVENTS.map((e) => ({
        workload: c.workload,
        engine: c.engine,
        event: e.label,
        perK: (1000 * (c.counters?.[e.key] ?? 0)) / Math.max(1, c.counters?.guestInstructions ?? 1),
        count: c.counters?.[e.key] ?? 0,
      })).filter((d) => d.count > 0),
    );
  if (paging.length > 0) {
    out.push({
      id: 'memory-events',
      section: 'memory',
      title: 'Memory-virtualization events',
      howToRead:
        'For each paging workload, one bar per engine: the MMU events its VMM handled per 1,000 guest instructions, stacked by kind. ' +
        'Shadow paging (trap-emulate, dbt, vtx) handles traced page-table writes, hidden faults (shadow misses) and reflected true faults; ' +
        'nested paging (vtx-ept) only EPT violations, a few per run; paravirt validates the updates the guest sends it. ' +
        'Under vtx every one of these events is a VM exit, which is why it is the dearest engine on these workloads. emulate handles none: its MMU is the interpreter.',
      spec: {
        ...base('MMU events handled by the VMM, per 1,000 guest instructions'),
        data: { values: memoryEvents },
        facet: { column: { field: 'workload', type: 'nominal', sort: paging, title: null } },
        spec: {
          width: 20 * report.engines.length,
          height: 220,
          mark: 'bar',
          encoding: {
            x: { field: 'engine', type: 'nominal', sort: report.engines.map((e) => e.id), title: null, axis: { labelAngle: -45 } },
            y: { field: 'perK', type: 'quantitative', title: 'events per 1,000 instructions' },
            color: { field: 'event', type: 'nominal', title: 'event', sort: MEMORY_EVENTS.map((e) => e.label) },
            order: { field: 'event' },
            tooltip: [{ field: 'engine' }, { field: 'workload' }, { field: 'event' }, { field: 'count', format: ',' }, { field: 'perK', format: '.3f' }],
          },
        },
        resolve: { scale: { y: 'independent' } },
      },
    });
  }

  return out;
}
