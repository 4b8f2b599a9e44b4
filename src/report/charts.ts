/**
 * The report's charts, as vega-lite specifications built from the report model. Rendering them to SVG is
 * html.ts's job; keeping the specs as data here makes them easy to test and to reuse. Colours, the fading of
 * diverged runs and the log axes come from scales.ts, so they are the same in every report.
 */
import type { TopLevelSpec } from 'vega-lite';
import { ENTRY_KINDS, shortLabel, type CounterKey } from '../metrics/counters.js';
import { belowOne, dearestSentence, measured, verdictOf } from './facts.js';
import type { BenchReport, CellRecord } from './model.js';
import { CATEGORY_ORDER, categoryScale, decadeAxis, engineScale, factor, fadeDiverged, kindScale, listScale } from './scales.js';

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
export const MEMORY_EVENTS: readonly { key: CounterKey; label: string }[] = (
  ['tracedWrites', 'hiddenPageFaults', 'truePageFaults', 'shadowSwitches', 'eptViolations', 'validatedPageTableUpdates'] as const
).map((key) => ({ key, label: shortLabel(key) }));

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

function base(title: string): Pick<TopLevelSpec, '$schema' | 'title' | 'config'> {
  return { $schema: 'https://vega.github.io/schema/vega-lite/v6.json', title, config: CONFIG };
}


/** The cache statistics of the translation-cache chart, in bar order. */
const CACHE_METRICS: readonly [CounterKey, string][] = (
  ['blocksTranslated', 'cacheHits', 'cacheMisses', 'chainedTransitions', 'invalidations', 'cacheFlushes'] as const
).map((key) => [key, shortLabel(key)]);

const xWorkload = (order: string[]) => ({ field: 'workload', type: 'nominal' as const, sort: order, title: null, axis: { labelAngle: -35 } });
const LOG_NOTE = 'The scale is logarithmic: each grid line is ten times the one below.';

/** One grouped bar chart on a log axis: a group per workload, a bar per engine (or statistic), faded when diverged. */
interface LogBars {
  title: string;
  values: Record<string, unknown>[];
  /** The plotted field, its axis title and d3 format, and values the axis must span (the overhead's 1). */
  field: string;
  axisTitle: string;
  format: string;
  include?: number[];
  /** What tells the bars of a group apart: their field and order, and their colour. */
  bars: { field: string; sort: string[] };
  color: object;
  groups: number;
  height: number;
  tooltip: object[];
}

/** `overlay`: a layer drawn over the bars (the overhead chart's reference line). */
function logBars(b: LogBars, workloadOrder: string[], overlay?: object): TopLevelSpec {
  const frame = { ...base(b.title), data: { values: b.values }, width: 48 * Math.max(1, b.groups), height: b.height };
  const bars = {
    mark: { type: 'bar' },
    encoding: {
      x: xWorkload(workloadOrder),
      xOffset: b.bars,
      y: { field: b.field, type: 'quantitative', ...decadeAxis(b.values.map((d) => Number(d[b.field])), b.format, b.include), stack: null, title: b.axisTitle },
      color: b.color,
      opacity: fadeDiverged,
      tooltip: [...b.tooltip, { field: 'run' }],
    },
  };
  // The compiler cannot follow vega-lite's union of spec shapes through a spread; the tests render every chart.
  return (overlay ? { ...frame, layer: [bars, overlay] } : { ...frame, ...bars }) as TopLevelSpec;
}

export function charts(report: BenchReport): ChartDef[] {
  const engineOrder = report.engines.map((e) => e.id);
  const engineColor = { field: 'engine', type: 'nominal' as const, title: 'engine', scale: engineScale(engineOrder), sort: engineOrder };
  const workloadOrder = report.workloads.map((w) => w.name);
  const cells = report.cells.filter(measured);
  const out: ChartDef[] = [];
  // A group per workload, a bar per engine: the overhead, exit-rate and throughput charts.
  const perEngine = { bars: { field: 'engine', sort: engineOrder }, color: engineColor, groups: workloadOrder.length };

  const overheads = cells.map((c) => ({ workload: c.workload, engine: c.engine, overhead: c.overheadVsNative, run: verdictOf(c) }));
  out.push({
    id: 'overhead',
    title: 'Modeled overhead vs native',
    howToRead:
      'For each workload, one bar per engine: its modeled cycles divided by the reference run\'s (the native bar is 1; the dashed line marks it). ' +
      `${LOG_NOTE} Faded bars diverged from the reference (see the fidelity matrix): their cost is the cost of a wrong run.` +
      (belowOne(cells).length > 0 ? ' Bars below the dashed line cost less than bare hardware: the note under the overhead table says why.' : ''),
    spec: logBars(
      {
        title: 'Modeled overhead vs native (log scale)',
        values: overheads,
        field: 'overhead',
        axisTitle: 'modeled cycles / native',
        format: ',~g',
        include: [1],
        ...perEngine,
        height: 280,
        tooltip: [{ field: 'engine' }, { field: 'workload' }, { field: 'overhead', format: '.3f' }],
      },
      workloadOrder,
      { mark: { type: 'rule', color: '#333', strokeDash: [4, 3] }, encoding: { y: { datum: 1 } } },
    ),
  });

  const rates = cells
    .filter((c) => (c.counters?.vmmEntries ?? 0) > 0)
    .map((c) => ({ workload: c.workload, engine: c.engine, rate: c.counters?.exitsPerKInsn ?? 0, run: verdictOf(c) }));
  out.push({
    id: 'exit-rate',
    title: 'Exit rate',
    howToRead:
      'VMM entries (traps, callouts, hypercalls, VM exits, host interrupts) per 1,000 guest instructions. Engines that never enter a VMM ' +
      `(native, emulate) have no bar. ${LOG_NOTE} Rates span decades: exit frequency matters more than exit cost. ` +
      'Faded bars diverged: a wrong run can loop in a trap storm that the right one never sees.',
    spec: logBars(
      {
        title: 'VMM entries per 1,000 guest instructions (log scale)',
        values: rates,
        field: 'rate',
        axisTitle: 'entries per 1,000 instructions',
        format: ',~g',
        ...perEngine,
        height: 260,
        tooltip: [{ field: 'engine' }, { field: 'workload' }, { field: 'rate', format: '.3f' }],
      },
      workloadOrder,
    ),
  });

  out.push(breakdownChart(cells, engineOrder, workloadOrder));
  out.push(reasonsChart(cells, engineOrder));

  const dbtCells = cells.filter((c) => (c.counters?.blocksTranslated ?? 0) > 0);
  const cacheLabels = CACHE_METRICS.map(([, l]) => l);
  out.push({
    id: 'dbt-cache',
    title: 'Translation cache',
    howToRead:
      'The binary translator\'s cache per workload: blocks translated (misses), lookups that hit, transitions that followed a chained ' +
      `link without any lookup, and blocks invalidated because the guest wrote to their page (the smc workload). ${LOG_NOTE} Zero is not drawn; faded bars diverged.`,
    spec: logBars(
      {
        title: 'Translation-cache statistics (log scale)',
        values: dbtCells.flatMap((c) =>
          CACHE_METRICS.map(([k, label]) => ({ workload: c.workload, engine: c.engine, metric: label, value: c.counters?.[k] ?? 0, run: verdictOf(c) })).filter((x) => x.value > 0),
        ),
        field: 'value',
        axisTitle: 'count',
        format: '~s',
        bars: { field: 'metric', sort: cacheLabels },
        color: { field: 'metric', type: 'nominal', sort: cacheLabels, title: 'statistic', scale: listScale(cacheLabels) },
        groups: new Set(dbtCells.map((c) => c.workload)).size,
        height: 240,
        tooltip: [{ field: 'engine' }, { field: 'workload' }, { field: 'metric' }, { field: 'value' }],
      },
      workloadOrder,
    ),
  });

  const timed = cells
    .filter((c) => c.timing !== null)
    .map((c) => ({
      workload: c.workload,
      engine: c.engine,
      mips: c.timing?.guestMips ?? 0,
      ms: c.timing?.meanMs ?? 0,
      rme: c.timing?.rmePercent ?? 0,
      samples: c.timing?.samples ?? 0,
      run: verdictOf(c),
    }));
  out.push({
    id: 'throughput',
    title: 'Host throughput',
    howToRead:
      'How fast the simulator itself runs: million guest instructions per host second (wall clock, tinybench mean). This measures ' +
      `virtstrat on this machine, not the modeled systems — it is reported beside the counts and never changes them. ${LOG_NOTE} Faded bars diverged. ` +
      'Hover a bar for its time per run, its relative margin of error (±%) and how many runs were timed: a wide margin or a few runs make a bar rough.' +
      (timed.length === 0 ? ' This run was made with --no-timing, so there is nothing to show.' : ''),
    spec: logBars(
      {
        title: 'Simulator throughput: guest MIPS on this host (log scale)',
        values: timed,
        field: 'mips',
        axisTitle: 'guest MIPS',
        format: ',~g',
        ...perEngine,
        height: 240,
        tooltip: [
          { field: 'engine' },
          { field: 'workload' },
          { field: 'mips', format: '.1f' },
          { field: 'ms', format: '.2f', title: 'ms per run' },
          { field: 'rme', format: '.0f', title: '± % (relative margin of error)' },
          { field: 'samples', title: 'runs timed' },
        ],
      },
      workloadOrder,
    ),
  });

  const memory = memoryChart(report, cells, engineOrder);
  if (memory) out.push(memory);
  return out;
}

/**
 * Where the cycles go: per engine (a column each) and workload (a row), the composition of the modeled cycles
 * by cost category, each bar normalised to 100 % with the overhead factor printed at its end. The composition
 * needs no reference cycles, and every engine's mechanisms are as visible as emulate's: when the bar lengths
 * were overheads, everything but emulate was a sliver.
 */
function breakdownChart(cells: readonly CellRecord[], engineOrder: string[], workloadOrder: string[]): ChartDef {
  const values = cells.flatMap((c) => {
    const total = c.cycles?.total || 1;
    const run = verdictOf(c);
    const parts = CATEGORY_ORDER.filter((k) => (c.cycles?.byCategory[k] ?? 0) > 0).map((k) => ({
      workload: c.workload,
      engine: c.engine,
      category: k,
      order: CATEGORY_ORDER.indexOf(k),
      cycles: c.cycles?.byCategory[k] ?? 0,
      share: (c.cycles?.byCategory[k] ?? 0) / total,
      run,
    }));
    const label = c.overheadVsNative === null ? [] : [{ workload: c.workload, engine: c.engine, label: factor(c.overheadVsNative), run }];
    return [...parts, ...label];
  });
  const y = { field: 'workload', type: 'nominal' as const, sort: workloadOrder, title: null };
  return {
    id: 'cycles-breakdown',
    title: 'Where the cycles go',
    howToRead:
      'One column per engine, one bar per workload: the share of the modeled cycles each mechanism costs — every bar is 100 % of that run, ' +
      'and the number at its end is its overhead against the reference (the first chart). Colours come in families: guest code (direct, ' +
      'interpreted, translated), the translator, VMM entries (trap, callout, hypercall, VM exit), VMM work (software emulation, VMCS ' +
      'accesses, page tables and walks) and hardware (delivery, devices, flag and control instructions); a colour means the same in every report. ' +
      'Faded bars diverged. Hover a segment for its cycles.',
    spec: {
      ...base('Modeled cycles by category: the composition of each run'),
      data: { values },
      facet: { column: { field: 'engine', type: 'nominal', sort: engineOrder, title: null, header: { labelFontSize: 12, labelFontWeight: 'bold' } } },
      spacing: 8,
      spec: {
        width: Math.max(70, Math.min(200, Math.floor(490 / Math.max(1, engineOrder.length)))),
        height: { step: 14 },
        layer: [
          {
            transform: [{ filter: 'isValid(datum.category)' }],
            mark: 'bar',
            encoding: {
              y,
              x: { field: 'cycles', type: 'quantitative', stack: 'normalize', title: 'share of cycles', axis: { format: '%', values: [0, 0.5, 1] } },
              color: { field: 'category', type: 'nominal', title: 'cost category', scale: categoryScale, legend: { title: 'cost category' } },
              order: { field: 'order' },
              opacity: fadeDiverged,
              tooltip: [{ field: 'engine' }, { field: 'workload' }, { field: 'category' }, { field: 'cycles', format: ',' }, { field: 'share', format: '.1%' }, { field: 'run' }],
            },
          },
          {
            transform: [{ filter: 'isValid(datum.label)' }],
            mark: { type: 'text', align: 'left', dx: 3, fontSize: 10 },
            encoding: { y, x: { datum: 1 }, text: { field: 'label' }, opacity: fadeDiverged },
          },
        ],
      },
    },
  };
}

/**
 * VMM entries by reason, every workload together — over the runs that matched the reference only: a wrong run
 * can loop (trap-emulate's runaway critical sections made 99.9 % of its `cli` traps), and summed with the
 * others it would decide the ranking.
 */
function reasonsChart(cells: readonly CellRecord[], engineOrder: string[]): ChartDef {
  const byReason = new Map<string, { engine: string; kind: string; reason: string; count: number }>();
  for (const c of cells.filter((x) => verdictOf(x) === 'exact')) {
    for (const r of c.reasons) {
      const key = `${c.engine}\u0000${r.kind}\u0000${r.reason}`;
      const e = byReason.get(key) ?? { engine: c.engine, kind: r.kind, reason: r.reason, count: 0 };
      e.count += r.count;
      byReason.set(key, e);
    }
  }
  const top = engineOrder.flatMap((eng) =>
    [...byReason.values()]
      .filter((x) => x.engine === eng)
      .sort((a, b) => b.count - a.count)
      .slice(0, 12)
      .map((x) => ({ ...x, label: `${x.kind}: ${x.reason}` })),
  );
  return {
    id: 'exit-reasons',
    title: 'VMM entries by reason',
    howToRead:
      'Every workload together: the twelve most frequent reasons each engine entered its VMM, coloured by kind. VT-x exits carry ' +
      `Intel's basic exit-reason number; traps and callouts name the instruction or exception; hypercalls their number. ${LOG_NOTE} ` +
      leftOut(cells),
    spec: {
      ...base('VMM entries by reason (all workloads, runs that matched the reference; log scale)'),
      data: { values: top },
      facet: {
        row: { field: 'engine', type: 'nominal', sort: engineOrder, title: null, header: { labelAngle: 0, labelOrient: 'top', labelAnchor: 'start', labelFontWeight: 'bold', labelFontSize: 12 } },
      },
      spec: {
        width: 420,
        height: { step: 14 },
        mark: 'bar',
        encoding: {
          y: { field: 'label', type: 'nominal', sort: '-x', title: null, axis: { labelLimit: 320 } },
          x: { field: 'count', type: 'quantitative', ...decadeAxis(top.map((d) => d.count), '~s'), stack: null, title: 'entries' },
          color: { field: 'kind', type: 'nominal', title: 'kind', scale: kindScale(ENTRY_KINDS) },
          tooltip: [{ field: 'engine' }, { field: 'kind' }, { field: 'reason' }, { field: 'count', format: ',' }],
        },
      },
      resolve: { scale: { y: 'independent' } },
    },
  };
}

/** The caption's account of the diverged runs the reasons chart leaves out, per engine. */
function leftOut(cells: readonly CellRecord[]): string {
  const diverged = cells.filter((c) => verdictOf(c) === 'diverged' && c.reasons.length > 0);
  if (diverged.length === 0) return 'Every run matched the reference, so every run is counted.';
  const engines = [...new Set(diverged.map((c) => c.engine))];
  const parts = engines.map((e) => {
    const mine = cells.filter((c) => c.engine === e);
    const n = diverged.filter((c) => c.engine === e).length;
    return n === mine.length ? `all ${n} runs of ${e} (so ${e} has no bars)` : `${n} of the ${mine.length} runs of ${e}`;
  });
  return `Left out: the runs that diverged from the reference — ${parts.join('; ')} — whose counts are those of a wrong run.`;
}

/** Memory-virtualization events per paging workload and engine, stacked in MEMORY_EVENTS order. */
function memoryChart(report: BenchReport, cells: readonly CellRecord[], engineOrder: string[]): ChartDef | null {
  const paging = report.workloads.filter((w) => w.paging).map((w) => w.name);
  if (paging.length === 0) return null;
  const labels = MEMORY_EVENTS.map((e) => e.label);
  const values = cells
    .filter((c) => paging.includes(c.workload) && c.engine !== 'native')
    .flatMap((c) =>
      MEMORY_EVENTS.map((e, order) => ({
        workload: c.workload,
        engine: c.engine,
        event: e.label,
        order,
        perK: (1000 * (c.counters?.[e.key] ?? 0)) / Math.max(1, c.counters?.guestInstructions ?? 1),
        count: c.counters?.[e.key] ?? 0,
        run: verdictOf(c),
      })).filter((d) => d.count > 0),
    );
  const vtx = engineOrder.includes('vtx') ? ' Under vtx every one of these events is a VM exit.' : '';
  return {
    id: 'memory-events',
    section: 'memory',
    title: 'Memory-virtualization events',
    howToRead:
      'For each paging workload, one bar per engine: the MMU events its VMM handled per 1,000 guest instructions, stacked by kind. ' +
      'Shadow paging (trap-emulate, dbt, vtx) handles traced page-table writes, hidden faults (shadow misses) and reflected true faults; ' +
      `nested paging (vtx-ept) only EPT violations, a few per run; paravirt validates the updates the guest sends it.${vtx} ` +
      `${dearestSentence(cells, paging)} emulate handles none: its MMU is the interpreter. Faded bars diverged; each workload has its own vertical scale.`,
    spec: {
      ...base('MMU events handled by the VMM, per 1,000 guest instructions'),
      data: { values },
      facet: { column: { field: 'workload', type: 'nominal', sort: paging, title: null, header: { labelFontSize: 12, labelFontWeight: 'bold' } } },
      spec: {
        width: 20 * engineOrder.length,
        height: 220,
        mark: 'bar',
        encoding: {
          x: { field: 'engine', type: 'nominal', sort: engineOrder, title: null, axis: { labelAngle: -45 } },
          y: { field: 'perK', type: 'quantitative', title: 'events per 1,000 instructions' },
          color: { field: 'event', type: 'nominal', title: 'event', scale: listScale(labels) },
          order: { field: 'order' },
          opacity: fadeDiverged,
          tooltip: [{ field: 'engine' }, { field: 'workload' }, { field: 'event' }, { field: 'count', format: ',' }, { field: 'perK', format: '.3f' }, { field: 'run' }],
        },
      },
      // Axes inside each facet: a shared x axis goes to the facet footer, where it floats below the plots.
      resolve: { scale: { y: 'independent' }, axis: { x: 'independent' } },
    },
  };
}
