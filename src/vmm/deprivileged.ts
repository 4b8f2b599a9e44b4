/**
 * The common loop of a VMM that runs the guest deprivileged on the physical machine (trap-and-emulate, binary
 * translation, paravirtualization): virtual time, virtual interrupts, halting, the budget, the world switch,
 * and direct execution until something traps. What to do about a trap is the engine's business
 * (`handleTrap`), and an engine may run some guest code another way (`runGuest`, e.g. translated).
 *
 * Virtual time is the guest's instruction count: the virtual machine's clock advances by every guest
 * instruction, whether the hardware ran it directly or the VMM emulated it. The VMM lets the guest run only up
 * to its next virtual device event (the host timer would interrupt it there) and injects virtual interrupts
 * at exactly the instruction boundaries where the real machine would take them.
 */
import { keepLayouts } from '../hw/layouts.js';
import { CTRL_PG, CR_CTRL, CR_PTBR, MODE_SUPERVISOR, MODE_USER, VEC_DISK, vectorName } from '../isa/arch.js';
import { disassemble } from '../isa/disasm.js';
import { opcodeOf } from '../isa/table.js';
import { ACCESS_FETCH } from '../hw/mmu.js';
import type { Machine } from '../hw/machine.js';
import { Counters, type EntryKind } from '../metrics/counters.js';
import type { EngineOutcome, RunSpec, TraceEvent, TraceSink } from '../../strategies/engine.js';
import { machineOutcome } from '../run/outcome.js';
import { SilentFailureRecorder } from './oracle.js';
import { GuestPlatform, loadGuestState, saveGuestState } from './platform.js';


/** The mnemonic the disassembler shows for an instruction word (cached: traps ask for it on every entry). */
const mnemonics = new Map<number, string>();
function mnemonicOf(word: number): string {
  let m = mnemonics.get(word);
  if (m === undefined) {
    m = disassemble(word, 0).split(' ')[0];
    if (mnemonics.size > 100_000) mnemonics.clear();
    mnemonics.set(word, m);
  }
  return m;
}

export abstract class DeprivilegedVmm {
  readonly p: GuestPlatform;
  readonly c = new Counters();
  readonly oracle = new SilentFailureRecorder();
  protected readonly trace: TraceSink | null;
  protected readonly budget: number;
  /** The virtual mode the physical page-table base is currently set up for (-1: none yet). */
  private loadedMode = -1;

  constructor(spec: RunSpec) {
    this.p = new GuestPlatform(spec);
    this.trace = spec.trace;
    this.budget = spec.budget;
    const phys = this.p.phys.cpu;
    // The guest runs in user mode, with paging (on the shadows) and with the VMM's interrupts enabled: this is
    // the IF that pushf reveals and popf cannot change.
    phys.mode = MODE_USER;
    phys.iflag = 1;
    phys.cr[CR_CTRL] = CTRL_PG;
    this.oracle.attach(this.p.phys, this.p.vm);
    // --trace shows the instructions that went wrong without a trap — the "why" a VMM never sees.
    if (this.trace !== null) {
      this.oracle.onFailure = (instruction, pc, detail, clock) => this.emitTrace('silent', instruction, pc, this.vm.cpu.mode, detail, clock);
    }
    keepLayouts(new.target.name, this);
  }

  get vm(): Machine {
    return this.p.vm;
  }

  get phys(): Machine {
    return this.p.phys;
  }

  /** React to an exception that left the physical machine (phys.fault says which; state already saved). */
  protected abstract handleTrap(): void;

  /**
   * The physical page-table base to use while the guest runs in a virtual mode (the engine's memory
   * virtualization: shadow page tables, or the guest's own validated tables).
   */
  protected abstract pageTableBase(mode: number): number;

  /** Called before the VMM emulates an instruction on the virtual CPU (e.g. to see where a store will go). */
  protected beforeEmulation(_word: number): void {}

  /** Called after the VMM emulated an instruction on the virtual CPU (e.g. to keep shadows coherent). */
  protected onEmulated(_word: number): void {}

  /** Called after the virtual CPU delivered an exception or interrupt: its frame is at the guest's sp. */
  protected delivered(): void {}

  /** Run guest code for at most `limit` instructions. Direct execution by default. */
  protected runGuest(limit: number): void {
    this.runDirect(limit);
  }

  run(): EngineOutcome {
    const vm = this.vm;
    while (vm.status === 'running') {
      vm.serviceDevices();
      if (vm.status !== 'running') break;
      if (this.injectInterrupt()) continue;
      if (vm.halted) {
        vm.idleUntilWake();
        continue;
      }
      const limit = vm.planLimit(this.budget);
      if (limit > 0) this.runGuest(limit);
    }
    return this.outcome();
  }

  /** Deliver the highest-priority deliverable virtual interrupt, if any. */
  protected injectInterrupt(): boolean {
    const vm = this.vm;
    const v = vm.deliverableVector();
    if (v < 0) return false;
    vm.acknowledge(v);
    vm.halted = false;
    this.c.injectedInterrupts++;
    const pc = vm.cpu.pc;
    const mode = vm.cpu.mode;
    vm.raise(v, 0, 0);
    this.delivered();
    this.emitTrace('inject', v === VEC_DISK ? 'disk' : 'timer', pc, mode, 'virtual interrupt injected into the guest kernel');
    return true;
  }

  /** Run the guest directly on the physical machine, deprivileged, until `limit`, a trap or an event. */
  protected runDirect(limit: number): void {
    const { phys, vm } = this;
    this.enterGuest();
    this.oracle.clockOffset = vm.retired - phys.clock;
    const before = phys.clock;
    phys.exec(phys, limit);
    const n = phys.clock - before;
    vm.retire(n, vm.cpu.mode);
    this.c.directInstructions += n;
    saveGuestState(phys.cpu, vm.cpu);
    if (phys.trapped) {
      phys.trapped = false;
      this.handleTrap();
    } else {
      this.hostTimerIfDue();
    }
  }

  /** The guest ran up to a virtual device event: the host timer interrupted it and entered the VMM. */
  protected hostTimerIfDue(): void {
    const vm = this.vm;
    if (vm.clock >= vm.dev.nextEvent()) {
      this.entry('interrupt', 'host timer', vm.cpu.pc, vm.cpu.mode, 'back in the VMM to emulate the virtual device event');
    }
  }

  /** World switch into the guest: its registers, and the shadow page tables of its current virtual mode. */
  protected enterGuest(): void {
    const { phys, vm } = this;
    loadGuestState(phys.cpu, vm.cpu);
    if (this.loadedMode !== vm.cpu.mode) {
      phys.cpu.cr[CR_PTBR] = this.pageTableBase(vm.cpu.mode);
      phys.mmu.flush();
      this.loadedMode = vm.cpu.mode;
    }
  }

  /** Forget which page tables are loaded (they changed): the next entry into the guest reloads them. */
  protected reloadPageTables(): void {
    this.loadedMode = -1;
  }

  /**
   * Emulate the instruction at the guest pc on the virtual CPU (or, if it faults there, deliver that fault
   * into the guest). Keeps the shadows coherent with what the instruction did to the guest's MMU.
   * Returns true if the instruction retired.
   */
  protected emulateOnVirtualCpu(): boolean {
    const vm = this.vm;
    const word = this.guestWord(vm.cpu.pc);
    if (word !== null) this.beforeEmulation(word);
    const retired = vm.step() === 1;
    if (retired) {
      this.c.emulatedInstructions++;
      if (word !== null) this.onEmulated(word);
    } else {
      this.c.reflectedExceptions++;
      this.delivered();
    }
    return retired;
  }

  /** Reflect an exception into the guest kernel (software delivery through the guest's vectors). */
  protected reflect(vector: number, code: number, addr: number): void {
    this.c.reflectedExceptions++;
    this.vm.raise(vector, code, addr);
    this.delivered();
  }

  /**
   * The instruction word at a guest virtual address, read through the guest's own tables with the privilege
   * of `mode` (default: the current virtual mode). Null if unmapped.
   */
  protected guestWord(va: number, mode = this.vm.cpu.mode): number | null {
    const vm = this.vm;
    if ((va & 3) !== 0) return null;
    const pa = vm.mmu.translate(va, ACCESS_FETCH, mode, true);
    return pa < 0 ? null : vm.mem.i32[pa >>> 2];
  }

  /** The instruction at a guest address, disassembled, for traces and reasons. */
  protected guestInstruction(va: number, mode = this.vm.cpu.mode): string {
    const w = this.guestWord(va, mode);
    return w === null ? '' : disassemble(w, va);
  }

  /** Count a VMM entry and, with --trace, report it. `clock`: guest instructions retired before it. */
  protected entry(kind: EntryKind, reason: string, pc: number, mode: number, action: string, clock = this.vm.retired): void {
    this.c.enter(kind, reason);
    this.emitTrace(kind, reason, pc, mode, action, clock);
  }

  protected emitTrace(kind: TraceEvent['kind'], reason: string, pc: number, mode: number, action: string, clock = this.vm.retired): void {
    if (this.trace === null) return;
    this.trace({
      clock,
      pc: pc >>> 0,
      mode: mode === MODE_SUPERVISOR ? 'supervisor' : 'user',
      instruction: this.guestInstruction(pc, mode),
      kind,
      reason,
      action,
    });
  }

  /** The reason to report for a trap on an instruction: its mnemonic when the VMM emulates it. */
  protected trapReason(vector: number, pc: number): string {
    const w = this.guestWord(pc);
    const name = w === null ? undefined : mnemonicOf(w);
    return name && !name.startsWith('.') ? name : vectorName(vector);
  }

  /** Fill in the counters that come from the machines, and describe the end state. */
  protected outcome(details: EngineOutcome['details'] = {}): EngineOutcome {
    const { phys, vm, c } = this;
    c.emulatedPortAccesses = vm.dev.portReads + vm.dev.portWrites;
    c.nativeFlagInstructions = nativeFlagCount(phys);
    c.nativeControlInstructions = nativeControlCount(phys);
    return machineOutcome(vm, phys, c, this.oracle.failures(), details);
  }
}

const FLAG_OPCODES = ['cli', 'sti', 'pushf', 'popf', 'rdmode'].map(opcodeOf);
const CONTROL_OPCODES = ['mfcr', 'mtcr', 'invlpg'].map(opcodeOf);

/** Flag instructions a machine executed itself (without trapping). */
export function nativeFlagCount(m: Machine): number {
  return FLAG_OPCODES.reduce((n, op) => n + m.sensitiveCounts[op], 0);
}

/** Control-register instructions a machine executed itself. */
export function nativeControlCount(m: Machine): number {
  return CONTROL_OPCODES.reduce((n, op) => n + m.sensitiveCounts[op], 0);
}
