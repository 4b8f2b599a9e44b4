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
import { opcodeOf } from '../isa/table.js';
import type { Machine } from '../hw/machine.js';
import type { SilentFailure } from '../../strategies/engine.js';

const OP_PUSHF = opcodeOf('pushf');
const OP_POPF = opcodeOf('popf');
const OP_RDMODE = opcodeOf('rdmode');

/**
 * The ways a sensitive instruction can silently go wrong, each with its instruction and its explanation. (A guest
 * that misbehaves in a loop records millions of these: a failure is counted by a number — its kind and address —
 * and the text is only ever built once per kind.)
 */
const KINDS: readonly { instruction: string; detail: string }[] = [
  { instruction: 'pushf', detail: 'guest user code pushed IF = 1 (the real, physical IF) while its IF was 0' },
  { instruction: 'popf', detail: 'the guest kernel popped IF = 0, but popf in user mode ignored it: the virtual IF stayed 1' },
  { instruction: 'popf', detail: 'the guest kernel popped IF = 1, but popf in user mode ignored it: the virtual IF stayed 0' },
  { instruction: 'pushf', detail: 'pushed IF = 1 (the real, physical IF) while the virtual IF was 0' },
  { instruction: 'rdmode', detail: 'told the guest kernel it runs in user mode' },
];
const USER_PUSHF = 0;
const POPF_IGNORED = 1; // + the IF the kernel popped
const KERNEL_PUSHF = 3;
const RDMODE = 4;

export class SilentFailureRecorder {
  /** By kind + KINDS.length * pc (exact in a double: pc is 32 bits). */
  private readonly byKey = new Map<number, SilentFailure>();

  /**
   * Guest instructions retired minus the physical machine's clock: the engine keeps it current, so that a
   * physical clock value converts to the guest's.
   */
  clockOffset = 0;

  /** Told of every silent failure as it happens (for --trace): the instruction, its pc and what went wrong. */
  onFailure: ((instruction: string, pc: number, detail: string, clock: number) => void) | null = null;

  /** Watch `phys` for sensitive instructions; `vm` is the virtual CPU they should have acted on. */
  attach(phys: Machine, vm: Machine): void {
    phys.onSensitive = (pc, opcode, detail, clock) => {
      const vif = vm.cpu.iflag;
      let kind = -1;
      if (vm.cpu.mode !== MODE_SUPERVISOR) {
        // Guest user code: user-mode popf and rdmode behave correctly. pushf does not when the guest runs its
        // user code with IF = 0: it reveals the physical IF (1), not the guest's.
        if (opcode === OP_PUSHF && vif === 0) kind = USER_PUSHF;
      } else if (opcode === OP_POPF) {
        const wanted = (detail & FLAG_IF) !== 0 ? 1 : 0;
        if (wanted !== vif) kind = POPF_IGNORED + wanted;
      } else if (opcode === OP_PUSHF) {
        if (vif === 0) kind = KERNEL_PUSHF;
      } else if (opcode === OP_RDMODE) {
        kind = RDMODE;
      }
      if (kind >= 0) this.record(kind, pc, clock + this.clockOffset);
    };
  }

  private record(kind: number, pc: number, clock: number): void {
    if (this.onFailure !== null) this.onFailure(KINDS[kind].instruction, pc, KINDS[kind].detail, clock);
    const key = kind + KINDS.length * (pc >>> 0);
    const f = this.byKey.get(key);
    if (f) f.count++;
    else this.byKey.set(key, { instruction: KINDS[kind].instruction, pc, count: 1, firstClock: clock, detail: KINDS[kind].detail });
  }

  /** Failures in the order they first happened. */
  failures(): SilentFailure[] {
    return [...this.byKey.values()].sort((a, b) => a.firstClock - b.firstClock || a.pc - b.pc);
  }
}
