/**
 * The fidelity oracle: records what a deprivileged guest kernel's sensitive-but-unprivileged instructions did
 * differently from real supervisor mode.
 *
 * A real VMM cannot see these instructions — that is the whole problem — so this is not part of any VMM. It is
 * virtstrat's instrument: the hardware model reports every sensitive instruction executed in user mode
 * (Machine.onSensitive), and while the guest *believes* it is in supervisor mode, the oracle compares what the
 * instruction did with what it should have done on the virtual CPU, and keeps the differences. (Guest user code
 * is in user mode for real, so only pushf can go wrong there: when the guest runs it with IF = 0, pushf
 * reveals the physical IF.) The engine's result then names the instruction, the address and the consequence.
 */
import { FLAG_IF, MODE_SUPERVISOR } from '../isa/arch.js';
import { insnByOpcode } from '../isa/table.js';
import type { Machine } from '../hw/machine.js';
import type { SilentFailure } from '../../strategies/engine.js';

export class SilentFailureRecorder {
  private readonly byKey = new Map<string, SilentFailure>();

  /**
   * Guest instructions retired minus the physical machine's clock: the engine keeps it current, so that a
   * physical clock value converts to the guest's.
   */
  clockOffset = 0;

  /** Watch `phys` for sensitive instructions; `vm` is the virtual CPU they should have acted on. */
  attach(phys: Machine, vm: Machine): void {
    phys.onSensitive = (pc, opcode, detail, clock) => {
      const name = insnByOpcode(opcode)?.name ?? `opcode ${opcode}`;
      const vif = vm.cpu.iflag;
      let what: string | null = null;
      if (vm.cpu.mode !== MODE_SUPERVISOR) {
        // Guest user code: user-mode popf and rdmode behave correctly. pushf does not when the guest runs its
        // user code with IF = 0: it reveals the physical IF (1), not the guest's.
        if (name === 'pushf' && vif === 0) what = 'guest user code pushed IF = 1 (the real, physical IF) while its IF was 0';
      } else if (name === 'popf') {
        const wanted = (detail & FLAG_IF) !== 0 ? 1 : 0;
        if (wanted !== vif) what = `the guest kernel popped IF = ${wanted}, but popf in user mode ignored it: the virtual IF stayed ${vif}`;
      } else if (name === 'pushf') {
        if (vif === 0) what = 'pushed IF = 1 (the real, physical IF) while the virtual IF was 0';
      } else if (name === 'rdmode') {
        what = 'told the guest kernel it runs in user mode';
      }
      if (what !== null) this.record(name, pc, clock + this.clockOffset, what);
    };
  }

  private record(instruction: string, pc: number, clock: number, detail: string): void {
    const key = `${instruction}@${pc}@${detail}`;
    const f = this.byKey.get(key);
    if (f) f.count++;
    else this.byKey.set(key, { instruction, pc, count: 1, firstClock: clock, detail });
  }

  /** Failures in the order they first happened. */
  failures(): SilentFailure[] {
    return [...this.byKey.values()].sort((a, b) => a.firstClock - b.firstClock || a.pc - b.pc);
  }
}
