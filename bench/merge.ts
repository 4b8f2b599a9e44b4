/**
 * `virtstrat merge DIR... [--out DIR]`: join the slices written by `bench --shard i/n` (on one machine or on many
 * CI runners) into the report an unsharded run writes — all four files, written atomically.
 *
 * Counts are deterministic, so the merged cells are the unsharded run's cells. That holds only if every slice
 * ran the same matrix with the same code: slices of different versions, presets, ISAs, scales or engine and
 * workload lists are refused, and so are slices that overlap or leave cells out (exit status 2, naming the
 * files and what differs).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { summarize, type BenchReport, type CellRecord } from '../src/report/model.js';
import { renderReport, writeFilesAtomically } from '../src/report/write.js';
import { RunError, UsageError, type FlagSpecs, type Parsed } from './args.js';
import { DEFAULT_OUT, summaryTable } from './bench.js';
import { cellKey } from './matrix.js';

export const MERGE_FLAGS: FlagSpecs = {
  out: { type: 'string', value: 'DIR', help: `output folder (default ${DEFAULT_OUT})` },
};

export interface ShardInput {
  /** Where it was read from, for messages. */
  source: string;
  report: BenchReport;
}

/** A shard's results.json: the path itself, or results.json inside a folder. */
export function readShard(path: string): ShardInput {
  const file = existsSync(path) && statSync(path).isDirectory() ? join(path, 'results.json') : path;
  let report: BenchReport;
  try {
    report = JSON.parse(readFileSync(file, 'utf8')) as BenchReport;
  } catch (err) {
    throw new UsageError(`merge: cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (typeof report !== 'object' || report === null || !Array.isArray(report.cells) || typeof report.options !== 'object') {
    throw new UsageError(`merge: ${file} is not a virtstrat results.json`);
  }
  return { source: file, report };
}

const shardName = (s: ShardInput): string => (s.report.shard ? `shard ${s.report.shard.index}/${s.report.shard.count}` : 'a whole report');

/** What must be equal in every slice for their cells to belong to one run, by name. */
const SAME: [string, (r: BenchReport) => unknown][] = [
  ['schema version', (r) => r.schemaVersion],
  ['virtstrat version', (r) => r.generator],
  ['engines', (r) => r.options.engines],
  ['workloads', (r) => r.options.workloads],
  ['preset', (r) => r.options.preset],
  ['preset prices', (r) => r.preset],
  ['ISA', (r) => r.options.isa],
  ['scale', (r) => r.options.scale],
  ['workload scales', (r) => r.workloads],
  ['--quick', (r) => r.options.quick],
  ['timing', (r) => r.options.timing],
  ['shard count', (r) => r.shard?.count],
];

/** Join the slices into one report, or say why they cannot be joined (UsageError). */
export function mergeReports(inputs: readonly ShardInput[]): BenchReport {
  if (inputs.length === 0) throw new UsageError('merge: give the folders (or results.json files) of the shards, e.g. virtstrat merge shards/*');
  const [first] = inputs;
  for (const s of inputs) {
    if (!s.report.shard) throw new UsageError(`merge: ${s.source} is not a shard (it has no "shard" field): run bench --shard i/n to write slices`);
  }
  for (const s of inputs.slice(1)) {
    for (const [what, get] of SAME) {
      const a = JSON.stringify(get(first.report));
      const b = JSON.stringify(get(s.report));
      if (a !== b) {
        const show = (v: string): string => (v.length > 60 ? `${v.slice(0, 57)}...` : v);
        throw new UsageError(`merge: ${first.source} and ${s.source} are not slices of one run: they differ in ${what} (${show(a)} vs ${show(b)})`);
      }
    }
    const [ca, cb] = [first.report.environment?.gitCommit, s.report.environment?.gitCommit];
    if (ca && cb && ca !== cb) throw new UsageError(`merge: ${first.source} and ${s.source} ran different commits (${ca} vs ${cb})`);
  }

  const count = first.report.shard!.count;
  const byIndex = new Map<number, ShardInput>();
  for (const s of inputs) {
    const other = byIndex.get(s.report.shard!.index);
    if (other) throw new UsageError(`merge: ${shardName(s)} is given twice (${other.source} and ${s.source})`);
    byIndex.set(s.report.shard!.index, s);
  }
  const missingShards = Array.from({ length: count }, (_, i) => i + 1).filter((i) => !byIndex.has(i));
  if (missingShards.length) throw new UsageError(`merge: shard${missingShards.length > 1 ? 's' : ''} ${missingShards.map((i) => `${i}/${count}`).join(', ')} missing`);

  // Every cell of the matrix exactly once, in the matrix's order (workload-major, engines in the run's order).
  const owner = new Map<string, { cell: CellRecord; source: string }>();
  for (const s of inputs) {
    for (const cell of s.report.cells) {
      const key = cellKey(cell.engine, cell.workload);
      const other = owner.get(key);
      if (other) throw new UsageError(`merge: the cell ${key} is in both ${other.source} and ${s.source}`);
      owner.set(key, { cell, source: s.source });
    }
  }
  const { engines, workloads } = first.report.options;
  const order = workloads.flatMap((workload) => engines.map((engine) => cellKey(engine, workload)));
  const missing = order.filter((k) => !owner.has(k));
  if (missing.length) throw new UsageError(`merge: ${missing.length} cell${missing.length > 1 ? 's' : ''} missing: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', ...' : ''}`);
  const stray = [...owner.keys()].filter((k) => !order.includes(k));
  if (stray.length) throw new UsageError(`merge: ${owner.get(stray[0])!.source} has a cell outside the run's matrix: ${stray[0]}`);

  const cells = order.map((k) => owner.get(k)!.cell);
  // The environment (and the rest of the metadata) of shard 1: slices may come from different machines.
  const { shard: _slice, ...rest } = byIndex.get(1)!.report;
  return {
    ...rest,
    finishedAt: inputs.map((s) => s.report.finishedAt).sort().at(-1)!,
    cells,
    summary: summarize(cells),
  };
}

/** The command: read, merge, write; 1 if any merged cell failed (as bench), 2 if the slices do not fit. */
export async function runMerge(args: Parsed, io: { out(text: string): void; err(text: string): void }): Promise<number> {
  const report = mergeReports(args.positionals.map(readShard));
  const out = resolve((args.values.out as string | undefined) ?? DEFAULT_OUT);
  const files = await renderReport(report);
  let written: string[];
  try {
    written = writeFilesAtomically(out, files);
  } catch (err) {
    throw new RunError(`cannot write the merged report to ${out}: ${err instanceof Error ? err.message : String(err)}`);
  }
  io.out(summaryTable(report));
  io.out(`\nmerged ${args.positionals.length} shards into ${written.map((f) => f.replace(`${process.cwd()}/`, '')).join(', ')}\n`);
  const errors = report.cells.filter((c) => c.status === 'error').length;
  if (errors) io.err(`\n${errors} of ${report.cells.length} runs FAILED (error rows in the report)\n`);
  return errors ? 1 : 0;
}
