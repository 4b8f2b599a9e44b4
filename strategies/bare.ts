/**
 * Running the guest on one bare machine model, shared by the reference run (`native`) and full emulation
 * (`emulate`): the difference between them is not the code that runs but what it stands for — the hardware
 * itself, or a software interpreter of the whole virtual CPU — and so how each instruction is counted and priced.
 */
import { Machine, type Execution } from '../src/hw/machine.js';
import { Counters } from '../src/metrics/counters.js';
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

/** Exceptions delivered through the guest's vectors, and of those the faults (vectors 0..31). */
export function deliveries(m: Machine): { all: number; faults: number } {
  let all = 0;
  let faults = 0;
  m.exceptionCounts.forEach((n, v) => {
    all += n;
    if (v < 32) faults += n;
  });
  return { all, faults };
}

export function bareOutcome(m: Machine, c: Counters): EngineOutcome {
  c.guestInstructions = m.retired;
  c.userInstructions = m.retiredUser;
  c.kernelInstructions = m.retiredSupervisor;
  c.idleTicks = m.idle;
  c.tlbWalks = m.mmu.walks;
  c.pageWalkRefs = m.mmu.walkRefs;
  c.tlbFlushes = m.mmu.flushes;
  return {
    status: m.status,
    message: m.statusMessage,
    exitCode: m.status === 'exited' ? m.dev.exitCode : null,
    console: m.dev.console.text(),
    registers: m.registers(),
    memoryHash: m.mem.hash(),
    counters: c,
    silentFailures: [],
    details: {},
  };
}

export { nativeControlCount, nativeFlagCount };
