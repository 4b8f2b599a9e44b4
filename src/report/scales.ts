/**
 * The fixed visual vocabulary of the report's charts: colours, the fading of wrong runs, log axes.
 *
 * Every colour scale has an explicit domain — the complete key list from the code, not the keys a run happens
 * to contain — and a fixed range, so the same mechanism has the same colour in every report (a subset, another
 * ISA, another preset): an instructor can put two slides side by side. The palette is Okabe & Ito's
 * colour-blind-safe one where it has enough colours; the cost categories reuse the colour of the engine whose
 * mechanism they are (trap: trap-emulate's vermillion, exit: vtx's blue, ...).
 */
import type { CostCategory } from '../metrics/cost.js';
import type { EntryKind } from '../metrics/counters.js';

/** A vega-lite scale with a fixed domain and range. */
export interface FixedScale {
  domain: string[];
  range: string[];
}

/** Engine colours, the same in every chart; engines not listed get the fallback palette in order. */
const ENGINE_COLORS: Record<string, string> = {
  native: '#999999',
  emulate: '#cc79a7',
  'trap-emulate': '#d55e00',
  dbt: '#e69f00',
  paravirt: '#009e73',
  vtx: '#0072b2',
  'vtx-ept': '#56b4e9',
};
const FALLBACK = ['#8c564b', '#332288', '#999933', '#882255', '#44aa99', '#dddddd'];

/** The colour scale of a run's engines (unknown engines are coloured in the order they come). */
export function engineScale(engines: readonly string[]): FixedScale {
  let k = 0;
  return { domain: [...engines], range: engines.map((id) => ENGINE_COLORS[id] ?? FALLBACK[k++ % FALLBACK.length]) };
}

/**
 * The cost categories in the order the breakdown chart stacks them and its legend lists them: families of
 * mechanisms, each in related colours. A Record, so the compiler insists on every category.
 */
const CATEGORY_STYLE: Record<CostCategory, { group: string; color: string; order: number }> = {
  direct: { group: 'guest code', color: '#c8c8c8', order: 0 },
  interpreted: { group: 'guest code', color: '#cc79a7', order: 1 },
  translated: { group: 'guest code', color: '#f5cf7a', order: 2 },
  translation: { group: 'translator', color: '#e69f00', order: 3 },
  inline: { group: 'translator', color: '#f0e442', order: 4 },
  trap: { group: 'VMM entry', color: '#d55e00', order: 5 },
  callout: { group: 'VMM entry', color: '#8c510a', order: 6 },
  hypercall: { group: 'VMM entry', color: '#009e73', order: 7 },
  exit: { group: 'VMM entry', color: '#0072b2', order: 8 },
  emulation: { group: 'VMM work', color: '#f4a582', order: 9 },
  vmcs: { group: 'VMM work', color: '#9ecae1', order: 10 },
  mmu: { group: 'VMM work', color: '#332288', order: 11 },
  delivery: { group: 'hardware', color: '#882255', order: 12 },
  device: { group: 'hardware', color: '#555555', order: 13 },
  system: { group: 'hardware', color: '#999933', order: 14 },
};

/** Every cost category, grouped by family (a permutation of COST_CATEGORIES). */
export const CATEGORY_ORDER: readonly CostCategory[] = (Object.keys(CATEGORY_STYLE) as CostCategory[]).sort(
  (a, b) => CATEGORY_STYLE[a].order - CATEGORY_STYLE[b].order,
);

export const categoryScale: FixedScale = { domain: [...CATEGORY_ORDER], range: CATEGORY_ORDER.map((k) => CATEGORY_STYLE[k].color) };

/** VMM-entry kinds, coloured like the engine that uses them most. */
const KIND_COLORS: Record<EntryKind, string> = {
  trap: '#d55e00',
  callout: '#e69f00',
  hypercall: '#009e73',
  'vm-exit': '#0072b2',
  interrupt: '#999999',
};
export function kindScale(kinds: readonly EntryKind[]): FixedScale {
  return { domain: [...kinds], range: kinds.map((k) => KIND_COLORS[k]) };
}

/** A scale for a fixed, ordered list of labels (memory events, cache statistics), coloured from one palette. */
export function listScale(labels: readonly string[]): FixedScale {
  const palette = ['#0072b2', '#e69f00', '#cc79a7', '#56b4e9', '#009e73', '#f0e442', '#d55e00', '#999999'];
  return { domain: [...labels], range: labels.map((_, i) => palette[i % palette.length]) };
}

/** How a per-cell datum says whether its run matched the reference. */
export type RunVerdict = 'exact' | 'diverged';

/**
 * The fading rule of every per-cell chart: a run that diverged from the reference is drawn at 30 % opacity (its
 * numbers are those of a wrong run), with a legend that says so.
 */
export const fadeDiverged = {
  field: 'run',
  type: 'ordinal' as const,
  sort: ['exact', 'diverged'],
  scale: { domain: ['exact', 'diverged'], range: [1, 0.3] },
  legend: { title: 'run', labelExpr: "datum.label === 'diverged' ? 'diverged (faded)' : 'exact'" },
};

/**
 * A log axis whose ticks and grid lines are the powers of ten spanning `values` (and `include`): every grid
 * line is a factor of 10, and no tick label is dropped for lack of room. `format` is a d3 format.
 */
export function decadeAxis(values: readonly number[], format: string, include: readonly number[] = []): {
  scale: { type: 'log'; domain: [number, number] };
  axis: { values: number[]; format: string; grid: true };
} {
  const positive = [...values, ...include].filter((v) => v > 0 && Number.isFinite(v));
  const lo = positive.length ? Math.floor(Math.log10(Math.min(...positive))) : 0;
  const hi = positive.length ? Math.max(lo + 1, Math.ceil(Math.log10(Math.max(...positive)))) : 1;
  const ticks = Array.from({ length: hi - lo + 1 }, (_, i) => Number(`1e${lo + i}`));
  return { scale: { type: 'log', domain: [ticks[0], ticks[ticks.length - 1]] }, axis: { values: ticks, format, grid: true } };
}

/** An overhead factor as a short label: 0.42×, 1.50×, 13×, 392×. */
export function factor(v: number): string {
  return `${v >= 10 ? v.toFixed(0) : v.toFixed(2)}×`;
}
