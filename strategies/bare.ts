/**
 * Running the guest on one bare machine model, shared by the reference run (`native`) and full emulation
 * (`emulate`): the difference between them is not the code that runs but what it stands for — the hardware
 * itself, or a software interpreter of the whole virtual CPU — and so how each instruction is counted and priced.
 */
import { Machine, type Execution } from '../src/hw/machine.js';
import { Counters } from '../src/metrics/counters.js';
import { machineOutcome } from '../src/run/outcome.js';
import { diskSectorsFor } from '../src/run/reference.js';
import { nativeControlCount, nativeFlagCount } from '../src/vmm/deprivileged.js';
import type { EngineOutcome, RunSpec } from './engine.js';

/** A bare machine with the guest loaded, run to the end (`execution`: how the hardware model runs it). */
export function runBareMachine(spec: RunSpec, execution: Execution): Machine {
  const m = new Machine({ isa: spec.isa, memoryBytes: spec.memoryBytes, diskSectors: diskSectorsFor(spec.disk), execution });
  m.mem.load(spec.image, 0);
  if (spec.disk) m.dev.disk.data.set(spec.disk);
  m.run(spec.budget);
  return m;
}

/** The outcome of a run on one bare machine (src/run/outcome.ts). */
export function bareOutcome(m: Machine, c: Counters): EngineOutcome {
  return machineOutcome(m, m, c);
}

export { nativeControlCount, nativeFlagCount };
