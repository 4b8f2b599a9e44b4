/**
 * `bench --jobs N`: the Popek–Goldberg classification of the ISA (src/classify, about a second of work) on a
 * thread of its own, started with the count workers, so that it is ready when the counts are instead of running
 * after them. The result is plain data: it crosses to the main thread as it is.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { IsaVariant } from '../src/isa/arch.js';
import { classify } from '../src/classify/index.js';

export interface ClassifyWorkerData {
  /** The module tsx-entry.mjs loads: this one. */
  entry: string;
  isa: IsaVariant;
}

const data = workerData as ClassifyWorkerData | null;
if (!isMainThread && parentPort && data?.entry === './classify-worker.ts') parentPort.postMessage(classify(data.isa));
