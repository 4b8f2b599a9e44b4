/**
 * Cycles per operation, the way Adams & Agesen report their nanobenchmarks.
 *
 * A workload run includes fixed costs (booting the kernel, translating it, printing the result). The cost of one
 * operation is the *marginal* cost: run the workload at scale S and at 2S; the difference in modeled cycles,
 * divided by S, is what one more system call (port read, fault, ...) costs. Fixed costs cancel.
 */
import type { IsaVariant } from '../isa/arch.js';
import type { CostPreset } from '../metrics/presets.js';
import { engineById } from '../../strategies/registry.js';
import { workloadByName } from '../../workloads/manifest.js';
import { runCell } from './engine-run.js';

/** Adams & Agesen, ASPLOS 2006 (raw data appendix, and forkwait), cycles per operation on a 3.8 GHz Pentium 4. */
export const ADAMS_AGESEN_2006: Readonly<Record<string, { native: number; bt: number; vtx: number; operation: string }>> = {
  syscall: { native: 242, bt: 2308, vtx: 246, operation: 'system call round trip' },
  in: { native: 3209, bt: 216, vtx: 15826, operation: '`in` from a port' },
  'prio-write': { native: 150, bt: 35, vtx: 177, operation: 'task-priority (cr8) write' },
  'call-ret': { native: 11, bt: 51, vtx: 11, operation: 'call + return' },
  divzero: { native: 889, bt: 3223, vtx: 1014, operation: 'divide-by-zero fault' },
  pgfault: { native: 1093, bt: 3927, vtx: 11242, operation: 'true page fault' },
  ptemod: { native: 1, bt: 391, vtx: 12733, operation: 'page-table entry write' },
  // A macrobenchmark in the paper (seconds for 40,000 fork/wait pairs on Linux: 6.02 native, 36.95 BT, 106.4
  // VT-x), here per pair at 3.8 GHz: seconds x 3.8e9 / 40,000.
  forkwait: { native: 571900, bt: 3510250, vtx: 10108000, operation: 'fork + exit + wait (from the paper’s seconds)' },
};

export const PAPER_WORKLOADS = Object.keys(ADAMS_AGESEN_2006);

export function cyclesPerOperation(engineId: string, workloadName: string, preset: CostPreset, scale: number, isa: IsaVariant = 'default'): number {
  const engine = engineById(engineId);
  const workload = workloadByName(workloadName);
  if (!engine || !workload) throw new Error(`unknown engine ${engineId} or workload ${workloadName}`);
  const run = (s: number) => runCell({ engine, guest: { kind: 'workload', workload, scale: s }, isa, preset }).cycles.total;
  return (run(2 * scale) - run(scale)) / scale;
}
