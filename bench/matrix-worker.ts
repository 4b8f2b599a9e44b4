/**
 * A worker thread of `bench --jobs N` (started through bench/tsx-entry.mjs by bench/matrix.ts): counts one cell
 * per message with the same countCell as a serial run, so its record is the one a serial run would produce.
 * Engines and workloads travel by name (functions cannot be posted to a thread) and are looked up again here.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { IsaVariant } from '../src/isa/arch.js';
import type { CostPreset } from '../src/metrics/presets.js';
import type { CellRecord } from '../src/report/model.js';
import { engineById } from '../strategies/registry.js';
import { workloadByName } from '../workloads/manifest.js';
import { countCell } from './matrix.js';

export interface CountWorkerData {
  /** The module tsx-entry.mjs loads: this one. */
  entry: string;
  isa: IsaVariant;
  preset: CostPreset;
}

/** One cell to count; `index` is its place in the plan's cells. */
export interface CountJob {
  index: number;
  engine: string;
  workload: string;
  scale: number;
}

export interface CountReply {
  index: number;
  record: CellRecord;
}

export function countJob(data: CountWorkerData, job: CountJob): CellRecord {
  const engine = engineById(job.engine);
  const workload = workloadByName(job.workload);
  // The main thread only sends cells it has checked against the registry and the manifest.
  if (!engine || !workload) throw new Error(`count worker: unknown engine ${job.engine} or workload ${job.workload}`);
  return countCell({ isa: data.isa, preset: data.preset, scaleOf: () => job.scale }, engine, workload);
}

// Serve only when started as the count worker (not when some other thread imports this module).
const data = workerData as CountWorkerData | null;
if (!isMainThread && parentPort && data?.entry === './matrix-worker.ts') {
  const port = parentPort;
  port.on('message', (job: CountJob) => {
    const reply: CountReply = { index: job.index, record: countJob(data, job) };
    port.postMessage(reply);
  });
  // Loaded: the main thread sends the first cell only now, so a worker that cannot start costs no cell.
  port.postMessage('ready');
}
