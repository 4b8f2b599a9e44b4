/**
 * The CSV views of a report, written with csv-stringify (RFC 4180 quoting, so messages with commas, quotes and
 * newlines survive any standard parser).
 *
 * results.csv has one row per engine x workload. Its columns are defined once, here (RESULT_COLUMNS): the fixed
 * identification and headline columns, then one column per counter of the counter key list, one per cost
 * category, and the timing columns. docs/reports.md documents them; test/report/csv-doc.test.ts checks that its
 * tables list exactly these columns, in this order.
 * exit_reasons.csv is long format: one row per engine, workload, kind and reason.
 */
import { stringify } from 'csv-stringify/sync';
import { COUNTER_FIELDS } from '../metrics/counters.js';
import { COST_CATEGORIES } from '../metrics/cost.js';
import type { BenchOptions, BenchReport, CellRecord } from './model.js';

export interface Column {
  readonly name: string;
  readonly description: string;
  /** The value for a cell; `run` holds what every cell of the run shares (the preset, quick mode). */
  readonly value: (c: CellRecord, run: BenchOptions) => string | number | boolean | null;
}

const num = (v: number | null | undefined): number | null => (v === null || v === undefined ? null : v);

const HEAD: readonly Column[] = [
  { name: 'engine', description: 'engine id (native is the reference run)', value: (c) => c.engine },
  { name: 'workload', description: 'workload name', value: (c) => c.workload },
  { name: 'scale', description: 'workload scale', value: (c) => c.scale },
  { name: 'isa', description: 'ISA variant: default or classic', value: (c) => c.isa },
  // The same in every row of a file, so that rows of several reports concatenated keep what they were measured
  // with: modeled cycles depend on the preset, and quick scales change the overheads.
  { name: 'preset', description: 'cost preset whose prices made the modeled cycles (e.g. p4-2006)', value: (_, run) => run.preset },
  { name: 'quick', description: 'true for a --quick run (each workload at its small quick scale, short timing)', value: (_, run) => run.quick },
  { name: 'guest_build', description: 'kernel build the engine ran: native or paravirt', value: (c) => c.guestBuild },
  { name: 'status', description: 'how the guest ended (exited, halted, budget-exhausted, triple-fault, machine-check) or error (the engine threw)', value: (c) => c.status },
  { name: 'exit_code', description: 'the guest exit code, empty if it did not power off', value: (c) => c.exitCode },
  { name: 'fidelity', description: 'exact or diverged against the reference run; empty on error', value: (c) => c.fidelity?.verdict ?? null },
  { name: 'fidelity_compared', description: 'state (output, final state, instruction count) or output (modified guest)', value: (c) => c.fidelity?.compared ?? null },
  { name: 'fidelity_cause', description: 'why the run diverged, when the engine knows: the instructions that silently misbehaved, in the order they first did (e.g. rdmode, then popf)', value: (c) => c.fidelity?.cause ?? null },
  { name: 'first_difference', description: 'the first observed difference from the reference', value: (c) => c.fidelity?.differences[0] ?? null },
  { name: 'output_correct', description: "the console equals the manifest's expected output", value: (c) => c.outputCorrect },
  { name: 'modeled_cycles', description: 'modeled cycles: counts times the preset prices', value: (c) => num(c.cycles?.total) },
  { name: 'overhead_vs_native', description: 'modeled cycles divided by the reference run\'s modeled cycles', value: (c) => num(c.overheadVsNative) },
];

const COUNTERS: readonly Column[] = COUNTER_FIELDS.map((f) => ({
  name: f.csv,
  description: f.label,
  value: (c: CellRecord) => num(c.counters?.[f.key]),
}));

const CYCLES: readonly Column[] = COST_CATEGORIES.map((cat) => ({
  name: `cycles_${cat}`,
  description: `modeled cycles of category ${cat}`,
  value: (c: CellRecord) => num(c.cycles?.byCategory[cat]),
}));

const TIMING: readonly Column[] = [
  { name: 'time_mean_ms', description: 'host wall-clock time per run, mean (tinybench), in milliseconds', value: (c) => num(c.timing?.meanMs) },
  { name: 'time_p50_ms', description: 'host time per run, median', value: (c) => num(c.timing?.p50Ms) },
  { name: 'time_p99_ms', description: 'host time per run, 99th percentile', value: (c) => num(c.timing?.p99Ms) },
  { name: 'time_rme_pct', description: 'relative margin of error of the mean, percent', value: (c) => num(c.timing?.rmePercent) },
  { name: 'time_samples', description: 'timed runs', value: (c) => num(c.timing?.samples) },
  { name: 'guest_mips', description: 'simulator throughput: million guest instructions per host second', value: (c) => num(c.timing?.guestMips) },
];

const TAIL: readonly Column[] = [
  { name: 'message', description: 'the run\'s status message', value: (c) => c.message },
  { name: 'error', description: 'the host exception, for status error', value: (c) => c.error },
];

/** Every column of results.csv, in order. */
export const RESULT_COLUMNS: readonly Column[] = [...HEAD, ...COUNTERS, ...CYCLES, ...TIMING, ...TAIL];

export const EXIT_REASON_COLUMNS: readonly Column[] = [
  { name: 'engine', description: 'engine id', value: () => null },
  { name: 'workload', description: 'workload name', value: () => null },
  { name: 'kind', description: 'how the guest entered the VMM: trap, callout, hypercall, vm-exit, interrupt', value: () => null },
  { name: 'reason', description: 'why: an instruction, an exception, a hypercall or an exit reason with its Intel number', value: () => null },
  { name: 'count', description: 'how many times', value: () => null },
];

export function resultsCsv(report: BenchReport): string {
  const rows = report.cells.map((c) => RESULT_COLUMNS.map((col) => col.value(c, report.options)));
  return stringify(rows, { header: true, columns: RESULT_COLUMNS.map((c) => c.name), cast: { boolean: (b) => (b ? 'true' : 'false') } });
}

export function exitReasonsCsv(report: BenchReport): string {
  const rows: (string | number)[][] = [];
  for (const c of report.cells) for (const r of c.reasons) rows.push([c.engine, c.workload, r.kind, r.reason, r.count]);
  return stringify(rows, { header: true, columns: EXIT_REASON_COLUMNS.map((c) => c.name) });
}
