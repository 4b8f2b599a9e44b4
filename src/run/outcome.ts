/**
 * The end of every engine's run: the counters every engine takes from its machines, and the outcome the harness
 * compares with the reference. One function, so that no engine can report its end state differently.
 */
import type { Machine } from '../hw/machine.js';
import type { Counters } from '../metrics/counters.js';
import type { EngineOutcome, SilentFailure } from '../../strategies/engine.js';

/**
 * `guest`: the machine the guest sees (its retired instructions and final state are the outcome); `hw`: the
 * machine that ran it (whose TLB did the walking) — the same machine for the bare engines, the physical one under
 * a VMM.
 */
export function machineOutcome(
  guest: Machine,
  hw: Machine,
  c: Counters,
  silentFailures: SilentFailure[] = [],
  details: EngineOutcome['details'] = {},
): EngineOutcome {
  c.guestInstructions = guest.retired;
  c.userInstructions = guest.retiredUser;
  c.kernelInstructions = guest.retiredSupervisor;
  c.idleTicks = guest.idle;
  c.tlbWalks = hw.mmu.walks;
  c.pageWalkRefs = hw.mmu.walkRefs;
  c.tlbFlushes = hw.mmu.flushes;
  c.tlbInvalidations = hw.mmu.invalidations;
  return {
    status: guest.status,
    message: guest.statusMessage,
    exitCode: guest.status === 'exited' ? guest.dev.exitCode : null,
    console: guest.dev.console.text(),
    registers: guest.registers(),
    memoryHash: guest.mem.hash(),
    counters: c,
    silentFailures,
    details,
  };
}

/** Exceptions the hardware delivered through the guest's own vectors (per vector), and of those the faults (0..31). */
export function countHardwareDeliveries(c: Counters, perVector: ArrayLike<number>): void {
  for (let v = 0; v < perVector.length; v++) {
    c.hardwareDeliveries += perVector[v];
    if (v < 32) c.hardwareFaultDeliveries += perVector[v];
  }
}
