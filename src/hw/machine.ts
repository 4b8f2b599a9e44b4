/**
 * The hardware model: one CPU, physical memory, the MMU and the port devices, plus the run loop of a bare
 * machine. The same class serves as
 *   - the physical machine of the reference run ("native": the guest kernel runs on it in supervisor mode),
 *   - the physical machine under a VMM (exceptions routed to the VMM instead of the guest: routing 'monitor'),
 *   - a VMM's software model of the guest's virtual machine (the emulator's CPU, and the virtual CPU on which
 *     trap-and-emulate and binary translation emulate individual instructions),
 *   - with a Vmx attached (src/hw/vmx.ts), a processor running a guest in VT-x non-root operation ('vmx').
 *
 * Time: `clock` counts retired instructions plus ticks skipped while halted. Devices are driven only by it.
 * Interrupts: the timer (vector 32, priority class 2) and the disk (vector 48, class 3). An interrupt is
 * deliverable when IF = 1 and its class (vector >> 4) is above the task-priority register (cr8).
 */
import { keepLayouts } from './layouts.js';
import {
  CR_CTRL,
  CR_NAMES,
  CR_TPR,
  type IsaVariant,
  MODE_USER,
  NUM_VECTORS,
  VEC_DISK,
  VEC_TIMER,
  VALID_CRS,
  vectorName,
} from '../isa/arch.js';
import type { SystemOp } from '../isa/table.js';
import { CpuState } from './cpu.js';
import { Devices, type DmaPort } from './devices.js';
import { interpreterFor, type ExecFn } from './interp.js';
import { PhysicalMemory } from './memory.js';
import { FaultInfo, Mmu, VEC_MACHINE_CHECK } from './mmu.js';
import { controlRegisterWriteEffects, deliverException } from './system.js';
import type { Vmx } from './vmx.js';
import { enableCompiledExecution, type Jit } from '../translate/jit.js';

export type MachineStatus = 'running' | 'exited' | 'halted' | 'budget-exhausted' | 'triple-fault' | 'machine-check';

/**
 * Where exceptions go: into the guest's own trap vectors, out of the run loop to a VMM, or — in VMX non-root
 * operation — through the VMCS's exception bitmap (src/hw/vmx.ts).
 */
export type Routing = 'bare' | 'monitor' | 'vmx';

export const IRQ_TIMER = 1;
export const IRQ_DISK = 2;

/** Instructions per call of the generated loop: short enough that a cold run leaves OSR code quickly. */
export const EXEC_SLICE = 100_000;

export interface MachineOptions {
  memoryBytes?: number;
  isa?: IsaVariant;
  diskSectors?: number;
  /** Share an existing physical memory (a VMM's view of guest RAM) instead of allocating one. */
  memory?: PhysicalMemory;
  /**
   * How code runs directly on this machine: the interpreter, or the compiled fast path for hot code
   * (src/translate/jit.ts) — an implementation detail with identical counts. Default: the interpreter.
   */
  execution?: Execution;
}

export type Execution = 'interpreter' | 'compiled';

/**
 * Called when an unprivileged sensitive instruction (pushf, popf, rdmode) executes in user mode. `clock` is
 * this machine's clock at that instruction (instructions retired before it).
 */
export type SensitiveHook = (pc: number, opcode: number, detail: number, clock: number) => void;

export class Machine implements DmaPort {
  readonly cpu = new CpuState();
  readonly mem: PhysicalMemory;
  readonly fault = new FaultInfo();
  readonly mmu: Mmu;
  readonly dev: Devices;
  readonly isa: IsaVariant;
  routing: Routing = 'bare';
  exec: ExecFn;

  status: MachineStatus = 'running';
  statusMessage = '';
  halted = false;
  /** Pending interrupt lines (IRQ_* bits). */
  irqPending = 0;
  /** Set when an exception left the run loop under 'monitor' routing; the VMM reads `fault`. */
  trapped = false;
  /** No interrupt is delivered while clock < shadowEnd (the instruction after an IF-enabling sti). */
  shadowEnd = 0;

  // Counters: plain numeric fields.
  clock = 0;
  idle = 0;
  retiredSupervisor = 0;
  retiredUser = 0;
  lastExecRetired = 0;
  interruptsDelivered = 0;
  sensitiveInUser = 0;
  /** Exceptions and interrupts delivered through the guest's vectors, by vector. */
  readonly exceptionCounts = new Float64Array(NUM_VECTORS);
  /** Sensitive instructions this machine executed (did not trap on), by opcode. */
  readonly sensitiveCounts = new Float64Array(256);
  /**
   * When set, delivering an exception ends the generated loop (it returns EXEC_EVENT). A VMM sets it to
   * emulate exactly one instruction, or one exception delivery, on its model of the guest's CPU.
   */
  breakOnDelivery = false;

  onSensitive: SensitiveHook | null = null;

  /** The VT-x extension, once a VMM has executed VMXON on this machine (src/hw/vmx.ts). */
  vmx: Vmx | null = null;

  /** The compiled fast path's state, when this machine runs with it (src/translate/jit.ts). */
  jit: Jit | null = null;

  constructor(opts: MachineOptions = {}) {
    this.isa = opts.isa ?? 'default';
    this.mem = opts.memory ?? new PhysicalMemory(opts.memoryBytes);
    this.mmu = new Mmu(this.cpu, this.mem, this.fault);
    this.dev = new Devices(opts.diskSectors);
    this.exec = interpreterFor(this.isa);
    if (opts.execution === 'compiled') enableCompiledExecution(this);
    keepLayouts('machine', this);
  }

  get retired(): number {
    return this.retiredSupervisor + this.retiredUser;
  }

  // --- Called by generated code and system operations -------------------------------------

  retire(n: number, mode: number): void {
    this.clock += n;
    if (mode === MODE_USER) this.retiredUser += n;
    else this.retiredSupervisor += n;
  }

  /**
   * An instruction raised exception `vector` (cpu.pc is its return address). Returns true when execution
   * can continue in the generated loop (delivered to the guest), false when the loop must return.
   */
  raise(vector: number, code: number, addr: number): boolean {
    if (vector === VEC_MACHINE_CHECK) {
      this.stop('machine-check', `machine check at pc 0x${(this.cpu.pc >>> 0).toString(16)}: ${this.fault.message}`);
      return false;
    }
    if (this.routing === 'monitor') {
      this.fault.set(vector, code, addr, this.fault.message);
      this.trapped = true;
      return false;
    }
    if (this.routing === 'vmx' && this.vmx !== null) return this.vmx.exception(vector, code, addr);
    return deliverException(this, vector, code, addr) && !this.breakOnDelivery;
  }

  /**
   * Execute one instruction — or, if it faults, deliver that one exception — and stop. Used by VMMs to
   * emulate a guest instruction on their model of the virtual CPU. Returns 1 if an instruction retired.
   */
  step(): number {
    const before = this.retired;
    this.breakOnDelivery = true;
    try {
      this.exec(this, 1);
    } finally {
      this.breakOnDelivery = false;
    }
    return this.retired - before;
  }

  /** `pending`: instructions retired in the running loop but not yet added to `clock`. */
  audit(pc: number, opcode: number, detail: number, pending: number): void {
    this.sensitiveInUser++;
    if (this.onSensitive !== null) this.onSensitive(pc, opcode, detail, this.clock + pending);
  }

  /**
   * Hook for VT-x non-root operation: returns 0 to execute the instruction normally, or the system operation's
   * result when it causes a VM exit. `w` is the instruction word (exit qualifications name its registers). A
   * machine without a VMX extension never intercepts.
   */
  vmxIntercept(op: SystemOp, arg: number, w: number): number {
    return this.vmx === null ? 0 : this.vmx.intercept(op, arg, w);
  }

  portRead(port: number): number {
    return this.dev.read(port);
  }

  portWrite(port: number, value: number): number {
    return this.dev.write(port, value, this.clock);
  }

  /** Read a control register for mfcr (in VMX non-root operation: read shadows and the TPR shadow apply). */
  readCr(n: number): number {
    return this.vmx === null ? this.cpu.cr[n] : this.vmx.readCr(n);
  }

  /** Write a control register for mtcr. Returns true if the run loop must re-plan. */
  writeCr(n: number, value: number): boolean {
    return this.vmx === null ? this.writeCrNative(n, value) : this.vmx.writeCr(n, value);
  }

  /** Write a control register of this CPU with its architectural side effects. */
  writeCrNative(n: number, value: number): boolean {
    const old = this.cpu.cr[n];
    this.cpu.cr[n] = n === CR_TPR ? value & 15 : value;
    if (controlRegisterWriteEffects(n, old, value).flush) this.mmu.flush();
    // Lowering the priority can unmask a pending interrupt.
    return n === CR_TPR && this.irqPending !== 0;
  }

  stop(status: Exclude<MachineStatus, 'running'>, message: string): void {
    if (this.status !== 'running') return;
    this.status = status;
    this.statusMessage = message;
  }

  // --- DMA (devices write physical memory through here, so translated code sees the change) ----------

  dmaRead(pa: number, length: number): Uint8Array | null {
    if (pa < 0 || pa + length > this.mem.size) return null;
    return this.mem.u8.slice(pa, pa + length);
  }

  dmaWrite(pa: number, data: Uint8Array): boolean {
    if (pa < 0 || pa + data.length > this.mem.size) return false;
    this.mem.u8.set(data, pa);
    if (data.length > 0) this.mmu.codeWritten(pa, data.length);
    return true;
  }

  // --- Interrupts and devices ----------------------------------------------------------------

  /** Fire device events that are due at the current clock. */
  serviceDevices(): void {
    const d = this.dev;
    if (this.clock >= d.timer.deadline) {
      d.timer.fire(this.clock);
      this.irqPending |= IRQ_TIMER;
    }
    if (this.clock >= d.disk.completeAt && d.disk.complete(this)) this.irqPending |= IRQ_DISK;
    if (d.powerOff) this.stop('exited', `powered off with exit code ${d.exitCode}`);
  }

  /** The vector of the highest-priority deliverable interrupt, or -1. */
  deliverableVector(): number {
    if (this.irqPending === 0 || this.cpu.iflag === 0 || this.clock < this.shadowEnd) return -1;
    const tpr = this.cpu.cr[CR_TPR] & 15;
    if ((this.irqPending & IRQ_DISK) !== 0 && VEC_DISK >> 4 > tpr) return VEC_DISK;
    if ((this.irqPending & IRQ_TIMER) !== 0 && VEC_TIMER >> 4 > tpr) return VEC_TIMER;
    return -1;
  }

  acknowledge(vector: number): void {
    this.irqPending &= ~(vector === VEC_DISK ? IRQ_DISK : IRQ_TIMER);
  }

  /** The clock value at which a halted CPU can be woken by a deliverable interrupt (Infinity: never). */
  nextWake(): number {
    if (this.cpu.iflag === 0) return Infinity;
    const tpr = this.cpu.cr[CR_TPR] & 15;
    const d = this.dev;
    let t = Infinity;
    if (VEC_TIMER >> 4 > tpr) t = d.timer.deadline;
    if (d.disk.irqEnabled !== 0 && VEC_DISK >> 4 > tpr) t = Math.min(t, d.disk.completeAt);
    return t;
  }

  // --- The bare-metal run loop (the reference run) ------------------------------------------------

  /** Run until the machine stops or `budget` instructions have retired in total. */
  run(budget: number): MachineStatus {
    if (this.routing !== 'bare') throw new Error('Machine.run drives a bare machine; a VMM drives a monitored one');
    while (this.status === 'running') {
      this.serviceDevices();
      if (this.status !== 'running') break;
      const v = this.deliverableVector();
      if (v >= 0) {
        this.acknowledge(v);
        this.halted = false;
        this.interruptsDelivered++;
        this.raise(v, 0, 0);
        continue;
      }
      if (this.halted) {
        this.idleUntilWake();
        continue;
      }
      const limit = this.planLimit(budget);
      if (limit > 0) this.exec(this, limit);
    }
    return this.status;
  }

  /**
   * How many instructions may run before the run loop must look again: up to the next device event, the
   * budget, the end of an sti shadow holding back a pending interrupt, and at most EXEC_SLICE. Returns 0 (and
   * stops the machine with status budget-exhausted) when the budget is used up. Shared by the bare run loop and
   * the VMMs' loops over their virtual machines.
   */
  planLimit(budget: number): number {
    const retired = this.retired;
    if (retired >= budget) {
      this.stop(
        'budget-exhausted',
        `stopped after the instruction budget of ${budget} instructions at pc 0x${(this.cpu.pc >>> 0).toString(16)}`,
      );
      return 0;
    }
    let limit = Math.min(budget - retired, this.dev.nextEvent() - this.clock, EXEC_SLICE);
    // An interrupt held back by the sti shadow is taken right after the shadowed instruction.
    if (this.irqPending !== 0 && this.clock < this.shadowEnd) limit = Math.min(limit, this.shadowEnd - this.clock);
    return limit;
  }

  /** Halted: skip time to the next interrupt that can wake the CPU, or stop for good if none can. */
  idleUntilWake(): void {
    const t = this.nextWake();
    if (t === Infinity) {
      this.stop('halted', this.haltMessage());
      return;
    }
    this.idle += t - this.clock;
    this.clock = t;
  }

  haltMessage(): string {
    const at = `at pc 0x${(this.cpu.pc >>> 0).toString(16)}`;
    if (this.cpu.iflag === 0) return `halted with interrupts disabled ${at} (hlt with IF = 0 never wakes)`;
    // nextWake() found nothing: the timer (class 2) and the disk (class 3) are stopped, or masked by TPR.
    const tpr = this.cpu.cr[CR_TPR] >>> 0;
    const why =
      tpr >= 3
        ? `TPR = ${tpr} masks every device interrupt`
        : `${tpr === 2 ? 'TPR = 2 masks the timer' : 'the timer is stopped'}, and no disk command with its interrupt enabled is running`;
    return `halted ${at} with no interrupt that could wake it (${why})`;
  }

  // --- Inspection ----------------------------------------------------------------------------------

  registers(): RegisterDump {
    const s = this.cpu;
    const cr: Record<string, number> = {};
    for (const n of VALID_CRS) cr[CR_NAMES[n]] = s.cr[n] >>> 0;
    return {
      r: Array.from(s.regs, (v) => v >>> 0),
      pc: s.pc >>> 0,
      flags: s.flags() >>> 0,
      mode: s.mode === MODE_USER ? 'user' : 'supervisor',
      cr,
    };
  }

  /** Exceptions delivered, by vector name (only vectors that occurred). */
  exceptionsByName(): Record<string, number> {
    const out: Record<string, number> = {};
    this.exceptionCounts.forEach((n, v) => {
      if (n > 0) out[vectorName(v)] = n;
    });
    return out;
  }

  pagingEnabled(): boolean {
    return (this.cpu.cr[CR_CTRL] & 1) !== 0;
  }
}

export interface RegisterDump {
  /** r0..r15 as unsigned 32-bit values. */
  r: number[];
  pc: number;
  flags: number;
  mode: 'supervisor' | 'user';
  /** Control registers by name (ctrl, tvb, faultaddr, ptbr, ksp, ecode, tpr). */
  cr: Record<string, number>;
}
