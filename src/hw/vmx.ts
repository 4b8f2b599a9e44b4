/**
 * VMX non-root operation: virtstrat's VT-x extension of the hardware model.
 *
 * A `Vmx` attached to a Machine turns it into a processor that runs a guest in non-root operation under the
 * control of one VMCS. `run` is VMLAUNCH/VMRESUME plus everything until the next VM exit:
 *   - VM entry loads the guest state from the VMCS into the CPU (the guest runs in its own supervisor or user
 *     mode), flushes the TLB (first-generation VT-x has no VPID; with the "enable VPID" secondary control the
 *     guest's entries survive exits) and delivers the event in the VM-entry interruption-information field, if
 *     valid, through the guest's own vectors;
 *   - with the "enable EPT" secondary control the MMU translates every guest-physical address through the
 *     nested page table at EPT_POINTER (mmu.ts: a two-dimensional walk); a guest-physical address it does not
 *     map exits with reason 48 (EPT violation), the address in GUEST_PHYSICAL_ADDRESS;
 *   - the guest then runs on the physical CPU with the ordinary interpreter. Privileged instructions execute
 *     natively unless a control makes them exit (the checks sit in Machine.vmxIntercept, readCr and writeCr,
 *     called only by system operations, and in Machine.raise, called only for exceptions, so ordinary
 *     instructions run exactly as fast as on bare metal);
 *   - VM exit saves the guest state into the VMCS and records the exit reason, qualification and information.
 *
 * Time and the physical timer. The VMM passes `deadline`, the number of guest instructions after which the
 * physical timer it programmed interrupts; reaching it in non-root operation is an external interrupt, which
 * exits with reason 1 (pin-based external-interrupt exiting; virtstrat's VMM always sets it, and without it the
 * timer has no other effect here). A guest `hlt` that does not exit halts the physical CPU in non-root operation
 * (activity state HLT) until that timer.
 *
 * Interrupt-window exiting. The interpreter leaves its loop after an instruction that sets IF (sti, popf, iret)
 * only when `irqPending` is non-zero. While the control is set, VM entry puts a pseudo pending bit (IRQ_WINDOW)
 * into `irqPending`, so those instructions return here and the window (IF = 1 and no blocking by STI) is checked
 * at exactly the instruction boundary where it opens; no physical interrupt line uses that bit.
 */
import {
  CR_CTRL,
  CR_ECODE,
  CR_FAULTADDR,
  CR_KSP,
  CR_PTBR,
  CR_TPR,
  CR_TVB,
  FLAG_IF,
  NUM_VECTORS,
  SP,
  VEC_ALIGNMENT,
  VEC_PAGE_FAULT,
  VEC_PRIVILEGE,
  VEC_SYSCALL,
} from '../isa/arch.js';
import type { SystemOp } from '../isa/table.js';
import { EXEC_SLICE, type Machine } from './machine.js';
import { ACCESS_FETCH, ACCESS_WRITE, VEC_EPT_VIOLATION } from './mmu.js';
import { deliverException, SYS_BREAK } from './system.js';
import {
  ACTIVITY_ACTIVE,
  ACTIVITY_HLT,
  CPU_ACTIVATE_SECONDARY_CONTROLS,
  CPU2_ENABLE_EPT,
  CPU2_ENABLE_VPID,
  CPU_CR3_LOAD_EXITING,
  CPU_CR3_STORE_EXITING,
  CPU_CR8_LOAD_EXITING,
  CPU_CR8_STORE_EXITING,
  CPU_HLT_EXITING,
  CPU_INTERRUPT_WINDOW_EXITING,
  CPU_INVLPG_EXITING,
  CPU_UNCONDITIONAL_IO_EXITING,
  CPU_USE_IO_BITMAPS,
  CPU_USE_TPR_SHADOW,
  CR_ACCESS_MOV_FROM,
  CR_ACCESS_MOV_TO,
  crQualification,
  EPT_QUAL_FETCH,
  EPT_QUAL_FINAL_TRANSLATION,
  EPT_QUAL_LINEAR_VALID,
  EPT_QUAL_READ,
  EPT_QUAL_WRITE,
  EXIT_EPT_VIOLATION,
  EXIT_CR_ACCESS,
  EXIT_EXCEPTION_OR_NMI,
  EXIT_EXTERNAL_INTERRUPT,
  EXIT_HLT,
  EXIT_INTERRUPT_WINDOW,
  EXIT_INVLPG,
  EXIT_IO_INSTRUCTION,
  EXIT_TPR_BELOW_THRESHOLD,
  EXIT_TRIPLE_FAULT,
  EXIT_VMCALL,
  infoType,
  infoValid,
  infoVector,
  INTERRUPTIBILITY_STI,
  interruptionInfo,
  INTR_ERROR_CODE_VALID,
  INTR_TYPE_EXTERNAL,
  INTR_TYPE_HARDWARE_EXCEPTION,
  INTR_TYPE_SOFTWARE_INTERRUPT,
  ioQualification,
  Vmcs,
  VMCS,
  VmxError,
} from './vmcs.js';

/** Pseudo interrupt line set in Machine.irqPending while interrupt-window exiting is on (see the header). */
export const IRQ_WINDOW = 4;

/** The instruction length reported for exits caused by instructions (VS32 instructions are one word). */
const INSN_LENGTH = 4;

/** Exceptions that push an error code on x86 (and so set bit 11 of the interruption information). */
function hasErrorCode(vector: number): boolean {
  return vector === VEC_PAGE_FAULT || vector === VEC_PRIVILEGE || vector === VEC_ALIGNMENT;
}

export class Vmx {
  readonly vmcs = new Vmcs();
  /** Exceptions delivered by the processor through the guest's vectors in non-root operation, by vector. */
  readonly nativeDeliveries = new Float64Array(NUM_VECTORS);
  /** Events delivered as part of VM entry (VM-entry interruption information), by vector. */
  readonly injectedDeliveries = new Float64Array(NUM_VECTORS);
  /** Why the last triple-fault exit happened (the failed delivery, as bare metal would report it). */
  tripleFaultMessage = '';
  /** True between VM entry and VM exit. */
  nonRoot = false;

  /** The exit recorded during this entry (-1: none yet). */
  private exitReason = -1;
  // Controls latched at VM entry (the processor may cache the VMCS while it is current).
  private ctl = 0;
  /** Secondary controls (0 unless the primary "activate secondary controls" bit is set). */
  private ctl2 = 0;
  private bitmap = 0;
  private cr0Mask = 0;
  private cr0Shadow = 0;
  private tprThreshold = 0;
  private vtpr = 0;
  private ioBitmapA = 0;
  private ioBitmapB = 0;

  /** VMXON on a machine: from now on its exceptions and sensitive operations consult this VMCS. */
  constructor(private readonly m: Machine) {
    m.vmx = this;
    m.routing = 'vmx';
  }

  /**
   * VM entry, non-root execution until a VM exit, and the exit. `deadline`: guest instructions until the
   * physical timer interrupts (Infinity: no timer). Returns the basic exit reason (also in EXIT_REASON), or -1
   * when the physical machine stopped instead (a machine check, or a halt no interrupt can end).
   */
  run(deadline: number): number {
    const m = this.m;
    this.enter();
    if (this.exitReason < 0 && m.status === 'running') this.execute(deadline);
    this.exit();
    return m.status === 'running' ? this.exitReason : -1;
  }

  private enter(): void {
    const { m, vmcs: v } = this;
    const s = m.cpu;
    this.ctl = v.get(VMCS.PROCESSOR_CONTROLS);
    this.ctl2 = (this.ctl & CPU_ACTIVATE_SECONDARY_CONTROLS) !== 0 ? v.get(VMCS.SECONDARY_PROCESSOR_CONTROLS) : 0;
    this.bitmap = v.get(VMCS.EXCEPTION_BITMAP);
    this.cr0Mask = v.get(VMCS.CR0_GUEST_HOST_MASK);
    this.cr0Shadow = v.get(VMCS.CR0_READ_SHADOW);
    this.tprThreshold = v.get(VMCS.TPR_THRESHOLD) & 15;
    this.vtpr = v.get(VMCS.VS_VIRTUAL_TPR) & 15;
    this.ioBitmapA = v.get(VMCS.IO_BITMAP_A);
    this.ioBitmapB = v.get(VMCS.IO_BITMAP_B);
    // A VM-entry check of the time: with a TPR shadow the threshold must not exceed the virtual TPR.
    if ((this.ctl & CPU_USE_TPR_SHADOW) !== 0 && this.tprThreshold > this.vtpr) {
      throw new VmxError(`VM entry failed: TPR threshold ${this.tprThreshold} is above the virtual TPR ${this.vtpr}`);
    }
    const info = v.get(VMCS.ENTRY_INTERRUPTION_INFO);
    // A VM-entry check: an external interrupt can be injected only into an interruptible guest.
    if (
      infoValid(info) &&
      infoType(info) === INTR_TYPE_EXTERNAL &&
      ((v.get(VMCS.GUEST_RFLAGS) & FLAG_IF) === 0 || (v.get(VMCS.GUEST_INTERRUPTIBILITY) & INTERRUPTIBILITY_STI) !== 0)
    ) {
      throw new VmxError('VM entry failed: injecting an external interrupt while the guest has IF = 0 or blocking by STI');
    }
    s.pc = v.get(VMCS.GUEST_RIP) | 0;
    s.regs[SP] = v.get(VMCS.GUEST_RSP) | 0;
    s.setFlags(v.get(VMCS.GUEST_RFLAGS), true);
    s.mode = v.get(VMCS.VS_GUEST_MODE) & 1;
    s.cr[CR_CTRL] = v.get(VMCS.GUEST_CR0) | 0;
    s.cr[CR_PTBR] = v.get(VMCS.GUEST_CR3) | 0;
    s.cr[CR_TVB] = v.get(VMCS.GUEST_IDTR_BASE) | 0;
    s.cr[CR_FAULTADDR] = v.get(VMCS.VS_GUEST_FAULT_ADDRESS) | 0;
    s.cr[CR_KSP] = v.get(VMCS.VS_GUEST_KSP) | 0;
    s.cr[CR_ECODE] = v.get(VMCS.VS_GUEST_ECODE) | 0;
    m.shadowEnd = (v.get(VMCS.GUEST_INTERRUPTIBILITY) & INTERRUPTIBILITY_STI) !== 0 ? m.clock + 1 : 0;
    m.halted = v.get(VMCS.GUEST_ACTIVITY_STATE) === ACTIVITY_HLT;
    const ept = (this.ctl2 & CPU2_ENABLE_EPT) !== 0 ? v.get(VMCS.EPT_POINTER) : -1;
    // Without VPID every entry flushes; with it, cached translations are tagged and survive (unless the nested
    // table itself changed, which a real VMM signals with INVEPT).
    if ((this.ctl2 & CPU2_ENABLE_VPID) === 0 || ept !== m.mmu.ept) m.mmu.flush();
    m.mmu.ept = ept;
    m.irqPending = (this.ctl & CPU_INTERRUPT_WINDOW_EXITING) !== 0 ? IRQ_WINDOW : 0;
    this.exitReason = -1;
    this.nonRoot = true;
    if (infoValid(info)) {
      // Event injection: delivered through the guest's vectors as part of VM entry; it wakes a halted guest.
      v.set(VMCS.ENTRY_INTERRUPTION_INFO, info & ~0x80000000);
      const vector = infoVector(info);
      const code = (info & INTR_ERROR_CODE_VALID) !== 0 ? v.get(VMCS.ENTRY_EXCEPTION_ERROR_CODE) | 0 : 0;
      // An injected #PF delivers the cr2 the VMM put into the guest state (x86: the VMM loads CR2 itself).
      const addr = vector === VEC_PAGE_FAULT ? s.cr[CR_FAULTADDR] : 0;
      m.halted = false;
      this.deliver(vector, code, addr, infoType(info), true);
    }
  }

  /** Run the guest until an exit is recorded or the machine stops. */
  private execute(deadline: number): void {
    const m = this.m;
    const start = m.retired;
    const window = (this.ctl & CPU_INTERRUPT_WINDOW_EXITING) !== 0;
    for (;;) {
      if (this.exitReason >= 0 || m.status !== 'running') return;
      if (window && m.cpu.iflag !== 0 && m.clock >= m.shadowEnd) {
        this.record(EXIT_INTERRUPT_WINDOW, 0);
        return;
      }
      const ran = m.retired - start;
      if (m.halted) {
        if (deadline === Infinity) {
          m.stop('halted', `halted in VMX non-root operation at pc 0x${(m.cpu.pc >>> 0).toString(16)} with no physical timer to wake it`);
          return;
        }
        // Asleep until the physical timer: its interrupt exits (the activity state saved is HLT).
        const idle = Math.max(0, deadline - ran);
        m.idle += idle;
        m.clock += idle;
        this.record(EXIT_EXTERNAL_INTERRUPT, 0);
        return;
      }
      if (ran >= deadline) {
        this.record(EXIT_EXTERNAL_INTERRUPT, 0);
        return;
      }
      let limit = Math.min(deadline - ran, EXEC_SLICE);
      // An sti shadow ends after one instruction: stop there so the window is checked at that boundary.
      if (window && m.clock < m.shadowEnd) limit = Math.min(limit, m.shadowEnd - m.clock);
      m.exec(m, limit);
    }
  }

  private exit(): void {
    const { m, vmcs: v } = this;
    const s = m.cpu;
    v.set(VMCS.GUEST_RIP, s.pc);
    v.set(VMCS.GUEST_RSP, s.regs[SP]);
    v.set(VMCS.GUEST_RFLAGS, s.flags());
    v.set(VMCS.VS_GUEST_MODE, s.mode);
    v.set(VMCS.GUEST_CR0, s.cr[CR_CTRL]);
    v.set(VMCS.GUEST_CR3, s.cr[CR_PTBR]);
    v.set(VMCS.GUEST_IDTR_BASE, s.cr[CR_TVB]);
    v.set(VMCS.VS_GUEST_FAULT_ADDRESS, s.cr[CR_FAULTADDR]);
    v.set(VMCS.VS_GUEST_KSP, s.cr[CR_KSP]);
    v.set(VMCS.VS_GUEST_ECODE, s.cr[CR_ECODE]);
    v.set(VMCS.VS_VIRTUAL_TPR, this.vtpr);
    v.set(VMCS.GUEST_INTERRUPTIBILITY, m.clock < m.shadowEnd ? INTERRUPTIBILITY_STI : 0);
    v.set(VMCS.GUEST_ACTIVITY_STATE, m.halted ? ACTIVITY_HLT : ACTIVITY_ACTIVE);
    m.halted = false;
    m.irqPending = 0;
    this.nonRoot = false;
  }

  /** Record a VM exit: reason and qualification; the other exit-information fields become invalid. */
  private record(reason: number, qualification: number): void {
    const v = this.vmcs;
    this.exitReason = reason;
    v.set(VMCS.EXIT_REASON, reason);
    v.set(VMCS.EXIT_QUALIFICATION, qualification);
    v.set(VMCS.EXIT_INTERRUPTION_INFO, 0);
    v.set(VMCS.IDT_VECTORING_INFO, 0);
    v.set(VMCS.EXIT_INSTRUCTION_LENGTH, 0);
  }

  /** An exit caused by an instruction: it did not execute; the system operation returns to the run loop. */
  private instructionExit(reason: number, qualification: number): number {
    this.record(reason, qualification);
    this.vmcs.set(VMCS.EXIT_INSTRUCTION_LENGTH, INSN_LENGTH);
    return SYS_BREAK;
  }

  /** An exception that the exception bitmap sends to the VMM. */
  private exceptionExit(vector: number, code: number, addr: number): void {
    const v = this.vmcs;
    const pf = vector === VEC_PAGE_FAULT;
    this.record(EXIT_EXCEPTION_OR_NMI, pf ? addr : 0);
    v.set(VMCS.EXIT_INTERRUPTION_INFO, interruptionInfo(vector, INTR_TYPE_HARDWARE_EXCEPTION, hasErrorCode(vector)));
    v.set(VMCS.EXIT_INTERRUPTION_ERROR_CODE, hasErrorCode(vector) ? code : 0);
    if (pf) v.set(VMCS.GUEST_LINEAR_ADDRESS, addr);
  }

  /** Reason 48: the nested table does not map (or does not allow) the guest-physical address in m.fault. */
  private eptViolationExit(): void {
    const f = this.m.fault;
    const access = f.code === ACCESS_WRITE ? EPT_QUAL_WRITE : f.code === ACCESS_FETCH ? EPT_QUAL_FETCH : EPT_QUAL_READ;
    this.record(EXIT_EPT_VIOLATION, access | EPT_QUAL_LINEAR_VALID | (f.final ? EPT_QUAL_FINAL_TRANSLATION : 0));
    this.vmcs.set(VMCS.GUEST_PHYSICAL_ADDRESS, f.addr);
    this.vmcs.set(VMCS.GUEST_LINEAR_ADDRESS, f.linear);
  }

  /**
   * Deliver an event through the guest's vectors (natively, or injected at entry). A page fault while
   * delivering exits if the bitmap selects #PF, with the event in the IDT-vectoring information so the VMM can
   * fix its shadow and inject it again; any other failure is a triple fault, which exits with reason 2.
   */
  private deliver(vector: number, code: number, addr: number, type: number, injected: boolean): boolean {
    const m = this.m;
    m.fault.vector = -1; // so that a failure can be told apart from the event being delivered
    if (deliverException(m, vector, code, addr)) {
      (injected ? this.injectedDeliveries : this.nativeDeliveries)[vector]++;
      return true;
    }
    const pageFault = m.fault.vector === VEC_PAGE_FAULT && (this.bitmap & (1 << VEC_PAGE_FAULT)) !== 0;
    const eptViolation = m.fault.vector === VEC_EPT_VIOLATION;
    const message = m.statusMessage;
    // Bare metal would stop; non-root operation exits instead.
    m.status = 'running';
    m.statusMessage = '';
    if (pageFault || eptViolation) {
      if (pageFault) this.exceptionExit(VEC_PAGE_FAULT, m.fault.code, m.fault.addr);
      else this.eptViolationExit();
      this.vmcs.set(VMCS.IDT_VECTORING_INFO, interruptionInfo(vector, type, hasErrorCode(vector)));
      this.vmcs.set(VMCS.IDT_VECTORING_ERROR_CODE, code);
    } else {
      this.tripleFaultMessage = message;
      this.record(EXIT_TRIPLE_FAULT, 0);
    }
    return false;
  }

  // --- Hooks called by the machine (see Machine.raise, vmxIntercept, readCr, writeCr) --------------------

  /** An instruction raised an exception in non-root operation. Returns true to continue in the guest. */
  exception(vector: number, code: number, addr: number): boolean {
    if (vector === VEC_EPT_VIOLATION) {
      this.eptViolationExit();
      return false;
    }
    if (vector < 32 && ((this.bitmap >>> vector) & 1) !== 0) {
      this.exceptionExit(vector, code, addr);
      return false;
    }
    // syscall is x86's INT n, a software interrupt (never subject to the exception bitmap).
    return this.deliver(vector, code, addr, vector === VEC_SYSCALL ? INTR_TYPE_SOFTWARE_INTERRUPT : INTR_TYPE_HARDWARE_EXCEPTION, false);
  }

  /**
   * A system operation is about to execute (privilege checks passed). Returns 0 to execute it, or the system
   * operation's result when it causes a VM exit. `w` is the instruction word.
   */
  intercept(op: SystemOp, arg: number, w: number): number {
    if (!this.nonRoot) return 0;
    const ctl = this.ctl;
    switch (op) {
      case 'hlt':
        return (ctl & CPU_HLT_EXITING) !== 0 ? this.instructionExit(EXIT_HLT, 0) : 0;
      case 'in':
      case 'out':
        return this.ioExits(arg) ? this.instructionExit(EXIT_IO_INSTRUCTION, ioQualification(arg, op === 'in')) : 0;
      case 'mfcr': {
        const exits =
          (arg === CR_PTBR && (ctl & CPU_CR3_STORE_EXITING) !== 0) || (arg === CR_TPR && (ctl & CPU_CR8_STORE_EXITING) !== 0);
        return exits ? this.instructionExit(EXIT_CR_ACCESS, crQualification(arg, CR_ACCESS_MOV_FROM, (w >>> 20) & 15)) : 0;
      }
      case 'mtcr': {
        const value = this.m.cpu.regs[(w >>> 16) & 15];
        const exits =
          (arg === CR_PTBR && (ctl & CPU_CR3_LOAD_EXITING) !== 0) ||
          (arg === CR_TPR && (ctl & CPU_CR8_LOAD_EXITING) !== 0) ||
          // A write that would change a bit the host owns exits (the guest sees those bits in the read shadow).
          (arg === CR_CTRL && ((value ^ this.cr0Shadow) & this.cr0Mask) !== 0);
        return exits ? this.instructionExit(EXIT_CR_ACCESS, crQualification(arg, CR_ACCESS_MOV_TO, (w >>> 16) & 15)) : 0;
      }
      case 'invlpg':
        if ((ctl & CPU_INVLPG_EXITING) === 0) return 0;
        this.instructionExit(EXIT_INVLPG, arg);
        this.vmcs.set(VMCS.GUEST_LINEAR_ADDRESS, arg);
        return SYS_BREAK;
      case 'vmcall':
        return this.instructionExit(EXIT_VMCALL, 0);
      case 'iret':
        return 0;
    }
  }

  /** Does an access to `port` exit? I/O bitmaps, when used, decide per port (one bit per port, A: 0-0x7fff, B: 0x8000-0xffff). */
  private ioExits(port: number): boolean {
    if ((this.ctl & CPU_USE_IO_BITMAPS) !== 0) {
      const base = port < 0x8000 ? this.ioBitmapA : this.ioBitmapB;
      const p = port & 0x7fff;
      return ((this.m.mem.u8[base + (p >>> 3)] >>> (p & 7)) & 1) !== 0;
    }
    return (this.ctl & CPU_UNCONDITIONAL_IO_EXITING) !== 0;
  }

  /** A control-register read that did not exit. */
  readCr(n: number): number {
    const s = this.m.cpu;
    if (!this.nonRoot) return s.cr[n];
    // Bits the host owns read from the read shadow.
    if (n === CR_CTRL) return (s.cr[CR_CTRL] & ~this.cr0Mask) | (this.cr0Shadow & this.cr0Mask);
    if (n === CR_TPR && (this.ctl & CPU_USE_TPR_SHADOW) !== 0) return this.vtpr;
    return s.cr[n];
  }

  /** A control-register write that did not exit. Returns true if the run loop must look again. */
  writeCr(n: number, value: number): boolean {
    const m = this.m;
    if (!this.nonRoot) return m.writeCrNative(n, value);
    if (n === CR_CTRL) return m.writeCrNative(n, (value & ~this.cr0Mask) | (m.cpu.cr[CR_CTRL] & this.cr0Mask));
    if (n === CR_TPR && (this.ctl & CPU_USE_TPR_SHADOW) !== 0) {
      this.vtpr = value & 15;
      // Trap-like: the write completes, then the exit (a pending interrupt may have become deliverable).
      if (this.vtpr < this.tprThreshold) {
        this.record(EXIT_TPR_BELOW_THRESHOLD, 0);
        return true;
      }
      return false;
    }
    return m.writeCrNative(n, value);
  }
}
