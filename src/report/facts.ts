/**
 * Facts the report states in words, computed from the run's cells so that a sentence never claims what this
 * run's data does not show (another preset, ISA, scale or subset can change every one of them).
 */
import type { CellRecord } from './model.js';
import type { RunVerdict } from './scales.js';

/** Did the run match the reference? Anything but an exact verdict counts as diverged. */
export const verdictOf = (c: CellRecord): RunVerdict => (c.fidelity?.verdict === 'exact' ? 'exact' : 'diverged');

/** A cell with counts and cycles: not an error row. */
export const measured = (c: CellRecord): boolean => c.status !== 'error' && c.counters !== null && c.cycles !== null;

/**
 * The reference run's modeled cycles for a workload, recovered from any cell's overhead (cycles / overhead): the
 * reference runs whether or not `native` is among the report's engines, and every overhead is relative to it.
 */
export function referenceCycles(cells: readonly CellRecord[], workload: string): number | null {
  for (const c of cells) {
    if (c.workload !== workload || !measured(c) || !c.overheadVsNative) continue;
    return Math.round((c.cycles?.total ?? 0) / c.overheadVsNative);
  }
  return null;
}

const list = (xs: readonly string[]): string => (xs.length <= 1 ? xs.join('') : `${xs.slice(0, -1).join(', ')} and ${xs[xs.length - 1]}`);

/**
 * Per paging workload, the dearest engine other than emulate (which interprets everything and is dearest
 * everywhere), among runs that matched the reference. Empty when there is nothing to compare.
 */
export function dearestOnPaging(cells: readonly CellRecord[], paging: readonly string[]): { workload: string; engine: string; overhead: number }[] {
  return paging.flatMap((w) => {
    const candidates = cells.filter((c) => c.workload === w && c.engine !== 'emulate' && c.engine !== 'native' && measured(c) && verdictOf(c) === 'exact');
    if (candidates.length < 2) return [];
    const top = candidates.reduce((a, b) => ((b.overheadVsNative ?? 0) > (a.overheadVsNative ?? 0) ? b : a));
    return [{ workload: w, engine: top.engine, overhead: top.overheadVsNative ?? 0 }];
  });
}

/** The dearest-engine finding as one sentence, e.g. "In this run vtx is the dearest ... on ptemod; dbt on pgfault." */
export function dearestSentence(cells: readonly CellRecord[], paging: readonly string[]): string {
  const found = dearestOnPaging(cells, paging);
  if (found.length === 0) return '';
  const byEngine = new Map<string, string[]>();
  for (const f of found) byEngine.set(f.engine, [...(byEngine.get(f.engine) ?? []), f.workload]);
  const parts = [...byEngine.entries()].map(([e, ws]) => `${e} on ${list(ws)}`);
  return `Apart from emulate, which interprets everything, the dearest engine that ran exactly is, in this run, ${list(parts)}.`;
}

/** The reference's cost categories that software can make cheaper than the hardware does. */
const DEAR_ON_HARDWARE = ['device', 'system', 'delivery'] as const;
export type HardwareCategory = (typeof DEAR_ON_HARDWARE)[number];

export interface BelowOne {
  engine: string;
  workload: string;
  overhead: number;
  /** The engine runs another build of the kernel (paravirt): other code, compared on its output only. */
  modifiedKernel: boolean;
  /**
   * The category where the reference spends the most cycles more than the engine, with the reference's share
   * of its total in it; null without a native cell to compare with, or when no such category saves anything.
   */
  saved: { category: HardwareCategory; referenceShare: number } | null;
}

/**
 * Every exact run cheaper than the reference (by half a percent at least), with what explains it: the paravirtual kernel is other code; and
 * the cost category — physical device accesses, flag and control instructions, hardware delivery — that the
 * engine replaces by cheaper software.
 */
export function belowOne(cells: readonly CellRecord[]): BelowOne[] {
  return cells
    // Below 0.995: a factor that prints as 1.00× is not worth explaining.
    .filter((c) => measured(c) && verdictOf(c) === 'exact' && c.engine !== 'native' && (c.overheadVsNative ?? 1) < 0.995)
    .map((c): BelowOne => {
      const ref = cells.find((x) => x.engine === 'native' && x.workload === c.workload && measured(x));
      const best = DEAR_ON_HARDWARE.map((k) => ({ k, d: (ref?.cycles?.byCategory[k] ?? 0) - (c.cycles?.byCategory[k] ?? 0) })).sort((a, b) => b.d - a.d)[0];
      const saved = ref?.cycles && best.d > 0 ? { category: best.k, referenceShare: ref.cycles.byCategory[best.k] / (ref.cycles.total || 1) } : null;
      return { engine: c.engine, workload: c.workload, overhead: c.overheadVsNative ?? 0, modifiedKernel: c.guestBuild !== 'native', saved };
    });
}
