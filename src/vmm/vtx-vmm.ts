/**
 * The VMM of the `vtx` and `vtx-ept` engines: hardware-assisted virtualization, first generation (VT-x with shadow
 * paging) or second (with nested paging, Intel's EPT).
 *
 * The unmodified guest kernel runs on the physical machine in VMX non-root operation, in its own supervisor
 * mode: cli, sti, pushf, popf and rdmode act on the guest's own state, and system calls and faults go straight to
 * the guest kernel's vectors. The VMM (this TypeScript code, in root operation) sees only the VM exits the VMCS
 * controls ask for, reads and writes the VMCS the way a real VMM does (each VMREAD/VMWRITE counted), and:
 *   - emulates each exiting instruction on its model of the guest's virtual machine (`vm.step()` on the
 *     GuestPlatform's virtual CPU: the same hardware semantics), including the devices: console, timer, disk;
 *   - keeps virtual time (guest instructions) exactly as DeprivilegedVmm does: the physical timer is programmed
 *     for the guest's next virtual device event, and its interrupt exits (reason 1);
 *   - injects virtual interrupts through the VM-entry interruption information at exactly the boundary where the
 *     real machine takes them: at once when the guest is interruptible, otherwise by interrupt-window exiting
 *     (IF = 0 or an sti shadow) or a TPR threshold (the interrupt is masked by the guest's task priority);
 *   - virtualizes memory in one of two ways:
 *       shadow paging (src/vmm/shadow.ts, copying the guest's U bit: there is no ring compression): exits on CR3
 *       loads (28: switch to the shadow of the new address space), on #PF through the exception bitmap (0: hidden
 *       faults fixed and resumed, traced page-table writes emulated and propagated, true faults injected with the
 *       guest-visible error code and cr2) and on INVLPG (14);
 *       nested paging (src/vmm/ept.ts, with VPID): the guest owns its page tables, cr3, invlpg and its page
 *       faults; the hardware walks the guest's tables and the nested table together, and the only memory exits
 *       are EPT violations (48), the first touch of each guest-physical page.
 *
 * The general registers r0..r14 are saved by the VMM's exit stub, as on x86 (no VMCS access); the stack
 * pointer, pc, FLAGS and the other guest state live in the VMCS.
 */
import { keepLayouts } from '../hw/layouts.js';
import { FRAME_SIZE, INSN_BYTES, PAGE_MASK } from '../isa/arch.js';
import {
  CR_CTRL,
  CR_ECODE,
  CR_FAULTADDR,
  CR_KSP,
  CR_PTBR,
  CR_TPR,
  CR_TVB,
  CTRL_PG,
  FLAG_IF,
  MODE_SUPERVISOR,
  MODE_USER,
  PF_USER,
  PORT_CONSOLE_DATA,
  PORT_CONSOLE_STATUS,
  PORT_DISK_ADDR,
  PORT_DISK_CMD,
  PORT_DISK_COUNT,
  PORT_DISK_IRQ,
  PORT_DISK_SECTOR,
  PORT_DISK_SIZE,
  PORT_DISK_STATUS,
  PORT_POWER,
  PORT_TIMER_COUNT,
  PORT_TIMER_PERIOD,
  SP,
  VEC_DISK,
  VEC_INVALID_OPCODE,
  VEC_PAGE_FAULT,
  VEC_TIMER,
  vectorName,
} from '../isa/arch.js';
import { disassemble } from '../isa/disasm.js';
import { IRQ_DISK, IRQ_TIMER, type Machine } from '../hw/machine.js';
import { ACCESS_FETCH, outsideMemoryMessage } from '../hw/mmu.js';
import {
  ACTIVITY_HLT,
  controlNames,
  CPU2_ENABLE_EPT,
  CPU2_ENABLE_VPID,
  CPU_ACTIVATE_SECONDARY_CONTROLS,
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
  CR_ACCESS_MOV_TO,
  EPT_QUAL_FINAL_TRANSLATION,
  EPT_QUAL_WRITE,
  EXIT_CR_ACCESS,
  EXIT_EPT_VIOLATION,
  EXIT_EXCEPTION_OR_NMI,
  EXIT_EXTERNAL_INTERRUPT,
  EXIT_HLT,
  EXIT_INTERRUPT_WINDOW,
  EXIT_INVLPG,
  EXIT_IO_INSTRUCTION,
  EXIT_REASON_NAMES,
  EXIT_TPR_BELOW_THRESHOLD,
  EXIT_TRIPLE_FAULT,
  EXIT_VMCALL,
  infoValid,
  infoVector,
  INTERRUPTIBILITY_STI,
  interruptionInfo,
  INTR_ERROR_CODE_VALID,
  INTR_TYPE_EXTERNAL,
  INTR_TYPE_HARDWARE_EXCEPTION,
  PIN_EXTERNAL_INTERRUPT_EXITING,
  SECONDARY_CONTROL_NAMES,
  VMCS,
} from '../hw/vmcs.js';
import { deliverException } from '../hw/system.js';
import { Vmx } from '../hw/vmx.js';
import { fieldRd, fieldRs } from '../isa/encoding.js';
import { INSTRUCTIONS } from '../isa/table.js';
import { Counters } from '../metrics/counters.js';
import type { EngineOptionValue, EngineOutcome, RunSpec, TraceEvent, TraceSink } from '../../strategies/engine.js';
import { countHardwareDeliveries, machineOutcome } from '../run/outcome.js';
import { nativeControlCount, nativeFlagCount } from './deprivileged.js';
import { NestedPageTable } from './ept.js';
import { GuestPlatform } from './platform.js';
import { accessOf, ShadowPaging } from './shadow.js';
import { VmcsFields } from './vtx-fields.js';

export interface VtxOptions {
  /** HLT exiting: a guest hlt exits (12); off, the CPU halts in non-root operation until the physical timer (1). */
  readonly hltExiting: boolean;
  /** Use TPR shadow: cr8 reads and writes act on the virtual TPR without exiting; off, they exit (28). */
  readonly tprShadow: boolean;
  /** Use I/O bitmaps marking the virtual devices' ports, instead of unconditional I/O exiting. */
  readonly ioBitmap: boolean;
  /** Nested paging (EPT, with VPID-tagged TLB entries) instead of shadow page tables. */
  readonly nestedPaging: boolean;
}

export const DEFAULT_VTX_OPTIONS: VtxOptions = { hltExiting: true, tprShadow: true, ioBitmap: false, nestedPaging: false };

/** Instructions that use the stack pointer without naming it (the table's stack effects). */
const STACK_OPCODES = new Set(INSTRUCTIONS.filter((d) => d.stack !== undefined).map((d) => d.opcode));

/** The ports the virtual devices decode: with I/O bitmaps these are the ones that exit. */
const DEVICE_PORTS: readonly number[] = [
  PORT_CONSOLE_DATA,
  PORT_CONSOLE_STATUS,
  PORT_TIMER_PERIOD,
  PORT_TIMER_COUNT,
  PORT_DISK_SECTOR,
  PORT_DISK_ADDR,
  PORT_DISK_COUNT,
  PORT_DISK_CMD,
  PORT_DISK_STATUS,
  PORT_DISK_IRQ,
  PORT_DISK_SIZE,
  PORT_POWER,
];

const hex = (v: number): string => `0x${(v >>> 0).toString(16)}`;

/** The exit reason as counters and traces show it: "30 I/O instruction", "0 exception (14 page fault)". */
const exitLabels = new Map<number, string>();

export function exitLabel(reason: number, vector = -1): string {
  // Cached: every exit is counted under its label, and building the string each time would dominate.
  const key = reason * 512 + vector;
  let label = exitLabels.get(key);
  if (label === undefined) {
    label = makeExitLabel(reason, vector);
    exitLabels.set(key, label);
  }
  return label;
}

function makeExitLabel(reason: number, vector: number): string {
  const name = EXIT_REASON_NAMES[reason] ?? 'unknown';
  if (reason === EXIT_EXCEPTION_OR_NMI) return `${reason} ${name} (${vector} ${vectorName(vector).replace(/-/g, ' ')})`;
  return `${reason} ${name}`;
}

export class VtxVmm {
  readonly p: GuestPlatform;
  readonly c = new Counters();
  /** The processor's VMX extension (VMXON done). */
  readonly hw: Vmx;
  readonly f: VmcsFields;
  /** Shadow paging (first generation), or null with nested paging. */
  readonly shadow: ShadowPaging | null;
  /** The nested page table (EPT), or null with shadow paging. */
  readonly ept: NestedPageTable | null;
  private readonly trace: TraceSink | null;
  private readonly budget: number;
  /** An event is already set for the next VM entry (an injected exception, or an interrupted delivery). */
  private eventQueued = false;
  /** The primary processor-based controls without interrupt-window exiting (which the VMM toggles). */
  private readonly baseControls: number;
  private readonly secondaryControls: number;

  constructor(
    spec: RunSpec,
    readonly opts: VtxOptions = DEFAULT_VTX_OPTIONS,
  ) {
    this.p = new GuestPlatform(spec);
    this.trace = spec.trace;
    this.budget = spec.budget;
    this.hw = new Vmx(this.p.phys);
    this.f = new VmcsFields(this.hw.vmcs);
    const nested = opts.nestedPaging;
    this.shadow = nested ? null : new ShadowPaging(this.p, this.c, this.p.vmmFrames, false, 'guest');
    this.ept = nested ? new NestedPageTable(this.phys.mem, this.p.vmmFrames, spec.memoryBytes) : null;
    this.secondaryControls = nested ? CPU2_ENABLE_EPT | CPU2_ENABLE_VPID : 0;
    this.baseControls =
      (nested ? CPU_ACTIVATE_SECONDARY_CONTROLS : CPU_INVLPG_EXITING | CPU_CR3_LOAD_EXITING | CPU_CR3_STORE_EXITING) |
      (opts.hltExiting ? CPU_HLT_EXITING : 0) |
      (opts.tprShadow ? CPU_USE_TPR_SHADOW : CPU_CR8_LOAD_EXITING | CPU_CR8_STORE_EXITING) |
      (opts.ioBitmap ? CPU_USE_IO_BITMAPS : CPU_UNCONDITIONAL_IO_EXITING);
    this.setup();
    keepLayouts(new.target.name, this);
  }

  get vm(): Machine {
    return this.p.vm;
  }

  get phys(): Machine {
    return this.p.phys;
  }

  /**
   * Fill in the VMCS: controls, and the guest at reset — pc 0, supervisor, IF = 0, all else 0 after VMCLEAR,
   * except FLAGS, which take the value a processor has at reset (the virtual CPU's).
   */
  private setup(): void {
    const f = this.f;
    f.write(VMCS.GUEST_RFLAGS, this.vm.cpu.flags());
    f.write(VMCS.PIN_BASED_CONTROLS, PIN_EXTERNAL_INTERRUPT_EXITING);
    f.write(VMCS.PROCESSOR_CONTROLS, this.baseControls);
    f.write(VMCS.TPR_THRESHOLD, 0);
    if (this.ept !== null) {
      // Nested paging: the guest owns cr0, cr3 and its page faults; the hardware adds the nested table.
      f.write(VMCS.SECONDARY_PROCESSOR_CONTROLS, this.secondaryControls);
      f.write(VMCS.EPT_POINTER, this.ept.root);
      f.write(VMCS.EXCEPTION_BITMAP, 0);
      f.write(VMCS.CR0_GUEST_HOST_MASK, 0);
    } else if (this.shadow !== null) {
      f.write(VMCS.EXCEPTION_BITMAP, 1 << VEC_PAGE_FAULT);
      // The VMM owns PG: the guest always runs paged (on the shadow), and sees its own PG in the read shadow.
      f.write(VMCS.CR0_GUEST_HOST_MASK, CTRL_PG);
      f.write(VMCS.CR0_READ_SHADOW, 0);
      f.write(VMCS.GUEST_CR0, CTRL_PG);
      f.write(VMCS.GUEST_CR3, this.shadow.root(MODE_SUPERVISOR));
    }
    if (this.opts.ioBitmap) {
      const a = this.p.vmmFrames.alloc();
      const b = this.p.vmmFrames.alloc();
      const u8 = this.phys.mem.u8;
      u8.fill(0, a, a + 4096);
      u8.fill(0, b, b + 4096);
      for (const port of DEVICE_PORTS) u8[a + (port >>> 3)] |= 1 << (port & 7);
      f.write(VMCS.IO_BITMAP_A, a);
      f.write(VMCS.IO_BITMAP_B, b);
    }
  }

  run(): EngineOutcome {
    const vm = this.vm;
    while (vm.status === 'running') {
      vm.serviceDevices();
      if (vm.status !== 'running') break;
      if (vm.halted) {
        // The guest waits for an interrupt: the VMM skips virtual time to the next one that can wake it.
        this.syncInterruptState();
        if (vm.deliverableVector() < 0) {
          vm.idleUntilWake();
          continue;
        }
      }
      if (vm.retired >= this.budget) {
        // Bare metal delivers what is due before it stops at the budget — an event whose delivery an exit cut
        // short, an interrupt the guest can take now — so for the state after exactly `budget` instructions to
        // be the same, enter once more with no time to run: the hardware delivers the event at VM entry.
        this.prepareEntry();
        if (this.eventQueued) {
          this.enterGuest(0);
          continue;
        }
        this.inspect();
        vm.planLimit(this.budget); // stops the virtual machine with its budget message
        break;
      }
      this.prepareEntry();
      // The physical timer fires at the guest's next virtual device event (or when the budget runs out).
      this.enterGuest(Math.min(vm.dev.nextEvent() - vm.clock, this.budget - vm.retired));
    }
    this.inspect();
    return this.outcome();
  }

  /** VMRESUME, and the exit that ends it. */
  private enterGuest(deadline: number): void {
    const { vm, phys } = this;
    const user0 = phys.retiredUser;
    const sup0 = phys.retiredSupervisor;
    const reason = this.hw.run(deadline);
    const user = phys.retiredUser - user0;
    const sup = phys.retiredSupervisor - sup0;
    vm.retire(user, MODE_USER);
    vm.retire(sup, MODE_SUPERVISOR);
    this.c.directInstructions += user + sup;
    this.f.exited();
    this.eventQueued = false;
    if (reason < 0) {
      this.inspect();
      vm.stop(phys.status === 'running' ? 'machine-check' : phys.status, phys.statusMessage);
      return;
    }
    this.handleExit();
  }

  // --- Exit handlers ---------------------------------------------------------------------------------

  private handleExit(): void {
    // The prologue of every exit, as in real VMMs: the reason, whether an event caused the exit, and whether the
    // exit interrupted the delivery of an event (which must then be delivered again).
    const reason = this.f.read(VMCS.EXIT_REASON) & 0xffff;
    this.f.read(VMCS.EXIT_INTERRUPTION_INFO);
    const idt = this.f.read(VMCS.IDT_VECTORING_INFO);
    if (infoValid(idt) && reason !== EXIT_EXCEPTION_OR_NMI) this.redeliver(idt);
    // For traces only (instruments read the VMCS without counting).
    const at = this.trace === null ? null : { pc: this.hw.vmcs.peek(VMCS.GUEST_RIP) | 0, mode: this.hw.vmcs.peek(VMCS.VS_GUEST_MODE), clock: this.vm.retired };
    const done = (label: string, action: string): void => this.entry(label, action, at);
    switch (reason) {
      case EXIT_EXTERNAL_INTERRUPT:
        return done(exitLabel(reason), this.externalInterrupt());
      case EXIT_HLT:
        this.emulate();
        return done(exitLabel(reason), 'hlt emulated: the virtual CPU waits for a virtual interrupt');
      case EXIT_IO_INSTRUCTION: {
        const q = this.f.read(VMCS.EXIT_QUALIFICATION);
        this.emulate();
        const what = `${(q & 8) !== 0 ? 'in from' : 'out to'} port ${hex(q >>> 16)}`;
        return done(exitLabel(reason), `${what} emulated on the virtual device (qualification ${hex(q)})`);
      }
      case EXIT_CR_ACCESS:
        return done(exitLabel(reason), this.crAccess());
      case EXIT_INVLPG: {
        const va = this.f.read(VMCS.EXIT_QUALIFICATION) | 0;
        this.emulate();
        this.shadow?.invalidate(va);
        return done(exitLabel(reason), `TLB entry for ${hex(va)} invalidated (tracing keeps the shadow coherent)`);
      }
      case EXIT_VMCALL:
        // The unmodified kernel makes no hypercalls; bare metal raises #UD for vmcall, so the guest gets #UD.
        this.queueEvent(interruptionInfo(VEC_INVALID_OPCODE, INTR_TYPE_HARDWARE_EXCEPTION, false), 0);
        this.c.reflectedExceptions++;
        return done(exitLabel(reason), 'no hypercall interface: #UD injected, as on bare metal');
      case EXIT_EXCEPTION_OR_NMI:
        return this.exception(done);
      case EXIT_EPT_VIOLATION:
        return this.eptViolation(done);
      case EXIT_INTERRUPT_WINDOW:
        return done(exitLabel(reason), 'the guest can take interrupts again');
      case EXIT_TPR_BELOW_THRESHOLD:
        return done(exitLabel(reason), 'the guest lowered its task priority below a waiting interrupt');
      case EXIT_TRIPLE_FAULT:
        done(exitLabel(reason), 'the guest is shut down');
        this.inspect();
        this.vm.stop('triple-fault', this.hw.tripleFaultMessage);
        return;
      default:
        throw new Error(`vtx: unexpected VM exit reason ${reason}`);
    }
  }

  /** Reason 1: the physical timer. Device work happens in the run loop; a guest asleep in hlt waits there too. */
  private externalInterrupt(): string {
    if (this.opts.hltExiting || this.f.read(VMCS.GUEST_ACTIVITY_STATE) !== ACTIVITY_HLT) {
      return 'physical timer: virtual devices serviced';
    }
    this.vm.halted = true;
    this.vm.cpu.pc = this.f.read(VMCS.GUEST_RIP) | 0;
    return 'physical timer while the guest was halted in non-root operation: waiting for a virtual interrupt';
  }

  /** Reason 28: a CR3 load or store, a CR0 write that changes PG, or (without a TPR shadow) a cr8 access. */
  private crAccess(): string {
    const q = this.f.read(VMCS.EXIT_QUALIFICATION);
    const cr = q & 15;
    const to = ((q >>> 4) & 3) === CR_ACCESS_MOV_TO;
    const vm = this.vm;
    const oldCr0 = vm.cpu.cr[CR_CTRL];
    if (!this.emulate()) return 'the instruction faulted on the virtual CPU';
    if (to && cr === CR_PTBR) {
      this.switchShadow();
      return `guest page-table base ${hex(vm.cpu.cr[CR_PTBR])}: switched to its shadow`;
    }
    if (to && cr === CR_CTRL) {
      const v = vm.cpu.cr[CR_CTRL];
      this.f.write(VMCS.CR0_READ_SHADOW, v);
      this.f.write(VMCS.GUEST_CR0, v | CTRL_PG);
      if (((v ^ oldCr0) & CTRL_PG) !== 0) this.switchShadow();
      return `guest paging ${(v & CTRL_PG) !== 0 ? 'on' : 'off'}: read shadow updated, shadow switched`;
    }
    return `mov ${to ? 'to' : 'from'} cr${cr} emulated`;
  }

  /** The guest changed its page-table base or paging: run it on the shadow of its new address space. */
  private switchShadow(): void {
    if (this.shadow === null) return;
    this.shadow.baseChanged();
    this.f.write(VMCS.GUEST_CR3, this.shadow.root(MODE_SUPERVISOR));
  }

  /**
   * Reason 48: the guest touched a guest-physical page the nested table does not map yet. Inside guest RAM the
   * VMM maps it and the guest retries (any event whose delivery was interrupted is delivered again by the exit
   * prologue); beyond it, bare metal would machine-check, and so does the VM.
   */
  private eptViolation(done: (label: string, action: string) => void): void {
    const f = this.f;
    const gpa = f.read(VMCS.GUEST_PHYSICAL_ADDRESS);
    const q = f.read(VMCS.EXIT_QUALIFICATION);
    const label = exitLabel(EXIT_EPT_VIOLATION);
    const ept = this.ept;
    if (ept === null) throw new Error('vtx: an EPT violation without nested paging');
    const what = (q & EPT_QUAL_FINAL_TRANSLATION) !== 0 ? 'page' : 'page-table page';
    const idt = f.read(VMCS.IDT_VECTORING_INFO);
    if (!ept.inGuestRam(gpa) && infoValid(idt)) {
      // An event delivery reached beyond guest RAM (its frame, or the vector table): bare metal triple-faults.
      done(label, this.deliverInSoftware(idt));
      return;
    }
    if (!ept.inGuestRam(gpa)) {
      // Bare metal's machine check, in its words: which access of the walk left physical memory.
      const va = f.read(VMCS.GUEST_LINEAR_ADDRESS);
      const inDirectory = ((gpa ^ f.read(VMCS.GUEST_CR3)) & ~PAGE_MASK) === 0;
      const guestPaging = (f.read(VMCS.GUEST_CR0) & CTRL_PG) !== 0;
      const access = !guestPaging
        ? null
        : (q & EPT_QUAL_FINAL_TRANSLATION) !== 0
          ? 'page frame'
          : inDirectory
            ? 'page-directory entry'
            : 'page-table entry';
      done(label, `guest-physical ${hex(gpa)} is outside guest RAM: machine check`);
      this.inspect();
      this.vm.stop(
        'machine-check',
        `machine check at pc ${hex(this.hw.vmcs.peek(VMCS.GUEST_RIP))}: ${outsideMemoryMessage(access, gpa, va, ept.guestRam)}`,
      );
      return;
    }
    ept.map(gpa);
    this.c.eptViolations++;
    done(label, `guest-physical ${what} ${hex(gpa & ~PAGE_MASK)} mapped in the nested table (${(q & EPT_QUAL_WRITE) !== 0 ? 'write' : 'read'})`);
  }

  /** Reason 0: an exception the bitmap intercepts — a page fault on the shadow page tables. */
  private exception(done: (label: string, action: string) => void): void {
    const f = this.f;
    const info = f.read(VMCS.EXIT_INTERRUPTION_INFO);
    const vector = infoVector(info);
    const label = exitLabel(EXIT_EXCEPTION_OR_NMI, vector);
    // Did the exception interrupt the delivery of another event? Then that event must be delivered again.
    const idt = f.read(VMCS.IDT_VECTORING_INFO);
    if (vector !== VEC_PAGE_FAULT) {
      this.queueEvent(info, (info & INTR_ERROR_CODE_VALID) !== 0 ? f.read(VMCS.EXIT_INTERRUPTION_ERROR_CODE) : 0);
      this.c.reflectedExceptions++;
      return done(label, 'reflected into the guest kernel');
    }
    const va = f.read(VMCS.EXIT_QUALIFICATION) | 0;
    const code = f.read(VMCS.EXIT_INTERRUPTION_ERROR_CODE);
    if (this.shadow === null) throw new Error('vtx: a #PF exit with nested paging (the exception bitmap is 0)');
    const r = this.shadow.handleFault(va, accessOf(code), (code & PF_USER) !== 0 ? MODE_USER : MODE_SUPERVISOR);
    if (infoValid(idt) && r !== 'hidden') {
      // The fault interrupted an event delivery: its frame lands on a traced page table, or the guest's own tables
      // (or memory beyond its RAM) cannot take the frame or reach the vector table.
      done(label, this.deliverInSoftware(idt));
      return;
    }
    if (r === 'traced') {
      // A store to one of the guest's page tables: emulate it, then bring the shadow up to date.
      const pa = this.shadow.lastTracedPa;
      if (!this.emulate(INSN_BYTES)) return done(label, 'traced write: the store faulted on the virtual CPU');
      this.shadow.tracedWrite(pa);
      return done(label, `traced write to ${hex(va)}: store emulated, shadow entry updated`);
    }
    if (r === 'hidden') {
      this.c.hiddenPageFaults++;
      if (infoValid(idt)) {
        this.redeliver(idt);
        return done(label, `hidden: shadow entry for ${hex(va)} built; the interrupted ${vectorName(infoVector(idt))} delivered again`);
      }
      return done(label, `hidden: shadow entry for ${hex(va)} built; the guest never sees it`);
    }
    if (r === 'machine-check') {
      done(label, 'machine check');
      this.inspect();
      this.vm.stop('machine-check', `machine check at pc ${hex(this.hw.vmcs.peek(VMCS.GUEST_RIP))}: ${this.vm.fault.message}`);
      return;
    }
    this.c.truePageFaults++;
    this.c.reflectedExceptions++;
    f.write(VMCS.VS_GUEST_FAULT_ADDRESS, va);
    this.queueEvent(interruptionInfo(VEC_PAGE_FAULT, INTR_TYPE_HARDWARE_EXCEPTION, true), this.vm.fault.code);
    done(label, `true: page fault at ${hex(va)} injected into the guest kernel`);
  }

  /**
   * Emulate the instruction that exited on the virtual CPU (the shared hardware semantics, devices included)
   * and move the guest past it. Instruction exits come only from guest supervisor mode: privilege checks come
   * before them (vmcall, which exits in every mode, is not emulated). Returns true if the instruction retired.
   */
  /** `length`: for exits that do not report an instruction length (an exception), the caller supplies it. */
  private emulate(length = -1): boolean {
    const { vm, phys, f } = this;
    const s = vm.cpu;
    const rip = f.read(VMCS.GUEST_RIP) | 0;
    if (length < 0) length = f.read(VMCS.EXIT_INSTRUCTION_LENGTH);
    if (this.ept !== null) this.syncGuestPaging(f.read(VMCS.GUEST_CR0), f.read(VMCS.GUEST_CR3));
    const word = this.guestWord(rip);
    // The stack pointer is in the VMCS: read it only when the instruction names r15 or uses the stack (a push
    // or call whose store hit a traced page table).
    const usesSp = word !== null && (STACK_OPCODES.has(word >>> 24) || fieldRd(word) === SP || fieldRs(word) === SP);
    s.regs.set(phys.cpu.regs.subarray(0, SP));
    if (usesSp) s.regs[SP] = f.read(VMCS.GUEST_RSP) | 0;
    const sp = s.regs[SP];
    s.pc = rip;
    s.mode = MODE_SUPERVISOR;
    if (vm.step() !== 1) {
      // Only if the VMM cannot fetch the instruction through the guest's tables (they changed under it).
      this.inspect();
      vm.stop('machine-check', `vtx: could not emulate the instruction at ${hex(rip)} that exited (${vectorName(vm.fault.vector)})`);
      return false;
    }
    this.c.emulatedInstructions++;
    phys.cpu.regs.set(s.regs.subarray(0, SP));
    if (usesSp && s.regs[SP] !== sp) f.write(VMCS.GUEST_RSP, s.regs[SP]);
    // rip + length, except for a call whose push exited (a traced write): the virtual CPU went to its target.
    f.write(VMCS.GUEST_RIP, s.pc === ((rip + 4) | 0) ? rip + length : s.pc);
    // Skipping an instruction ends an sti shadow.
    if ((f.read(VMCS.GUEST_INTERRUPTIBILITY) & INTERRUPTIBILITY_STI) !== 0) f.write(VMCS.GUEST_INTERRUPTIBILITY, 0);
    return true;
  }

  /**
   * Nested paging: the guest loads cr0 and cr3 and edits its tables without exiting, so before the VMM walks them
   * in software (to fetch an exiting instruction) it takes the guest's current values and drops its own
   * (software) TLB, which may hold translations the guest has since changed.
   */
  private syncGuestPaging(cr0: number, cr3: number): void {
    const s = this.vm.cpu;
    s.cr[CR_CTRL] = cr0 | 0;
    s.cr[CR_PTBR] = cr3 | 0;
    this.vm.mmu.flush();
  }

  // --- Virtual interrupts ----------------------------------------------------------------------------

  /** Copy what decides interrupt delivery (IF, the sti shadow, the task priority) into the virtual CPU. */
  private syncInterruptState(): void {
    const { vm, f } = this;
    vm.cpu.iflag = (f.read(VMCS.GUEST_RFLAGS) & FLAG_IF) !== 0 ? 1 : 0;
    vm.shadowEnd = (f.read(VMCS.GUEST_INTERRUPTIBILITY) & INTERRUPTIBILITY_STI) !== 0 ? vm.clock + 1 : 0;
    // Without a TPR shadow every cr8 access exits, so the virtual CPU's cr8 is already current.
    if (this.opts.tprShadow) vm.cpu.cr[CR_TPR] = f.read(VMCS.VS_VIRTUAL_TPR) & 15;
  }

  /**
   * Before VM entry: inject the highest-priority deliverable virtual interrupt, and ask the processor to exit
   * when a waiting one may become deliverable — interrupt-window exiting when only IF or an sti shadow holds it
   * back, the TPR threshold when the guest's task priority masks it.
   */
  private prepareEntry(): void {
    const vm = this.vm;
    if (vm.irqPending === 0) {
      this.setWindow(false);
      this.setThreshold(0);
      return;
    }
    this.syncInterruptState();
    if (!this.eventQueued) {
      const v = vm.deliverableVector();
      if (v >= 0) {
        vm.acknowledge(v);
        vm.halted = false;
        this.queueEvent(interruptionInfo(v, INTR_TYPE_EXTERNAL, false), 0);
        this.c.injectedInterrupts++;
        if (this.trace !== null) {
          const v0 = this.hw.vmcs;
          this.emitTrace('inject', v === VEC_DISK ? 'disk' : 'timer', v0.peek(VMCS.GUEST_RIP) | 0, v0.peek(VMCS.VS_GUEST_MODE), 'virtual interrupt injected at VM entry', vm.retired);
        }
      }
    }
    const tpr = vm.cpu.cr[CR_TPR] & 15;
    let window = false;
    let masked = 0;
    for (const [line, vector] of [
      [IRQ_DISK, VEC_DISK],
      [IRQ_TIMER, VEC_TIMER],
    ] as const) {
      if ((vm.irqPending & line) === 0) continue;
      if (vector >> 4 > tpr) window = true;
      else masked = Math.max(masked, vector >> 4);
    }
    this.setWindow(window);
    this.setThreshold(masked);
  }

  private setWindow(on: boolean): void {
    this.f.update(VMCS.PROCESSOR_CONTROLS, on ? this.baseControls | CPU_INTERRUPT_WINDOW_EXITING : this.baseControls);
  }

  /** Exit when the guest's TPR drops below `priorityClass` (0: never). Only with a TPR shadow. */
  private setThreshold(priorityClass: number): void {
    if (this.opts.tprShadow) this.f.update(VMCS.TPR_THRESHOLD, priorityClass);
  }

  /**
   * The hardware could not deliver an event into the guest, and retrying will not help: the guest's own tables
   * cannot take the frame or reach the vector table (a true fault, or memory beyond guest RAM), or the frame
   * lands on one of its page tables, which shadow paging keeps write-protected. The VMM delivers the event
   * itself, on the virtual CPU — the hardware's own semantics: bare metal's triple fault, with its message, if
   * the delivery cannot be done — brings the shadows up to date with the frame's words, and resumes the guest at
   * its handler. Only hostile guests get here; the VMCS fields it needs are read with the instrument's view.
   */
  private deliverInSoftware(idt: number): string {
    const { vm, f } = this;
    this.cancelEvent();
    this.inspect();
    if (this.ept !== null) this.syncGuestPaging(vm.cpu.cr[CR_CTRL], vm.cpu.cr[CR_PTBR]);
    else vm.mmu.flush();
    const vector = infoVector(idt);
    const code = (idt & INTR_ERROR_CODE_VALID) !== 0 ? f.read(VMCS.IDT_VECTORING_ERROR_CODE) : 0;
    // cr2 already holds the address of a page fault being delivered (set when it was raised or injected).
    if (!deliverException(vm, vector, code, vm.cpu.cr[CR_FAULTADDR])) return 'the delivery failed on the virtual CPU too: the guest triple-faults';
    const s = vm.cpu;
    this.shadow?.virtualCpuWrote(s.regs[SP], FRAME_SIZE);
    this.c.reflectedExceptions++;
    f.write(VMCS.GUEST_RIP, s.pc);
    f.write(VMCS.GUEST_RSP, s.regs[SP]);
    f.write(VMCS.GUEST_RFLAGS, s.flags());
    f.write(VMCS.VS_GUEST_MODE, s.mode);
    f.write(VMCS.VS_GUEST_FAULT_ADDRESS, s.cr[CR_FAULTADDR]);
    f.write(VMCS.VS_GUEST_ECODE, s.cr[CR_ECODE]);
    return `${vectorName(vector)} delivered by the VMM on the virtual CPU (its frame is on a traced page table)`;
  }

  /** Nothing is to be injected at the next VM entry after all. */
  private cancelEvent(): void {
    if (!this.eventQueued) return;
    this.f.write(VMCS.ENTRY_INTERRUPTION_INFO, 0);
    this.eventQueued = false;
  }

  /** Deliver again the event whose delivery the exit interrupted (IDT-vectoring information). */
  private redeliver(idt: number): void {
    this.queueEvent(idt, (idt & INTR_ERROR_CODE_VALID) !== 0 ? this.f.read(VMCS.IDT_VECTORING_ERROR_CODE) : 0);
  }

  /** Set the event the next VM entry delivers through the guest's vectors. */
  private queueEvent(info: number, errorCode: number): void {
    this.f.write(VMCS.ENTRY_INTERRUPTION_INFO, info);
    if ((info & INTR_ERROR_CODE_VALID) !== 0) this.f.write(VMCS.ENTRY_EXCEPTION_ERROR_CODE, errorCode);
    this.eventQueued = true;
  }

  // --- Inspection, traces and the outcome ------------------------------------------------------------------

  /**
   * Bring the whole virtual CPU up to date from the VMCS, for the final state and stop messages. This is the
   * instrument's view (the fidelity oracle's), not VMM work, so it is not counted as VMREADs.
   */
  private inspect(): void {
    const v = this.hw.vmcs;
    const s = this.vm.cpu;
    s.regs.set(this.phys.cpu.regs.subarray(0, SP));
    s.regs[SP] = v.peek(VMCS.GUEST_RSP) | 0;
    s.pc = v.peek(VMCS.GUEST_RIP) | 0;
    s.setFlags(v.peek(VMCS.GUEST_RFLAGS), true);
    s.mode = v.peek(VMCS.VS_GUEST_MODE);
    s.cr[CR_TVB] = v.peek(VMCS.GUEST_IDTR_BASE) | 0;
    s.cr[CR_FAULTADDR] = v.peek(VMCS.VS_GUEST_FAULT_ADDRESS) | 0;
    s.cr[CR_KSP] = v.peek(VMCS.VS_GUEST_KSP) | 0;
    s.cr[CR_ECODE] = v.peek(VMCS.VS_GUEST_ECODE) | 0;
    const mask = v.peek(VMCS.CR0_GUEST_HOST_MASK);
    s.cr[CR_CTRL] = (v.peek(VMCS.GUEST_CR0) & ~mask) | (v.peek(VMCS.CR0_READ_SHADOW) & mask);
    if (this.opts.tprShadow) s.cr[CR_TPR] = v.peek(VMCS.VS_VIRTUAL_TPR) & 15;
    // With shadow paging cr3 is the VMM's own copy (every guest CR3 load exits); with nested paging it is the guest's.
    if (this.ept !== null) s.cr[CR_PTBR] = v.peek(VMCS.GUEST_CR3) | 0;
  }

  /** The instruction word at a guest virtual address, read through the guest's own tables (null if unmapped). */
  private guestWord(va: number): number | null {
    const vm = this.vm;
    if ((va & 3) !== 0) return null;
    if (this.ept !== null && this.trace !== null) {
      // An instrument's look (traces): the guest's current paging state, read without counting.
      this.syncGuestPaging(this.hw.vmcs.peek(VMCS.GUEST_CR0), this.hw.vmcs.peek(VMCS.GUEST_CR3));
    }
    const pa = vm.mmu.translate(va, ACCESS_FETCH, MODE_SUPERVISOR, true);
    return pa < 0 ? null : vm.mem.i32[pa >>> 2];
  }

  private entry(reason: string, action: string, at: { pc: number; mode: number; clock: number } | null): void {
    this.c.enter('vm-exit', reason);
    if (at !== null) this.emitTrace('vm-exit', reason, at.pc, at.mode, action, at.clock);
  }

  private emitTrace(kind: TraceEvent['kind'], reason: string, pc: number, mode: number, action: string, clock: number): void {
    if (this.trace === null) return;
    const w = this.guestWord(pc);
    this.trace({
      clock,
      pc: pc >>> 0,
      mode: mode === MODE_USER ? 'user' : 'supervisor',
      instruction: w === null ? '' : disassemble(w, pc),
      kind,
      reason,
      action,
    });
  }

  /** The controls this VMM runs the guest with, for reports. */
  details(): Record<string, EngineOptionValue> {
    const v = this.hw.vmcs;
    const c = this.c;
    const exits = c.vmExits;
    return {
      pinBasedControls: `${hex(v.peek(VMCS.PIN_BASED_CONTROLS))} (external-interrupt exiting)`,
      primaryControls: `${hex(this.baseControls)} (${controlNames(this.baseControls).join(', ')}; interrupt-window exiting set on demand)`,
      ...(this.ept !== null
        ? {
            secondaryControls: `${hex(this.secondaryControls)} (${controlNames(this.secondaryControls, SECONDARY_CONTROL_NAMES).join(', ')})`,
            exceptionBitmap: `${hex(v.peek(VMCS.EXCEPTION_BITMAP))} (none: guest page faults go straight to the guest)`,
            cr0GuestHostMask: `${hex(v.peek(VMCS.CR0_GUEST_HOST_MASK))} (the guest owns cr0)`,
            memoryVirtualization: `nested paging: the guest owns its page tables; a two-level nested table maps guest RAM identically, page by page on EPT violations (${this.ept.mappedPages} pages, ${this.ept.framesUsed} table frames)`,
            tlbTagging: 'VPID: guest TLB entries survive VM exits',
          }
        : {
            exceptionBitmap: `${hex(v.peek(VMCS.EXCEPTION_BITMAP))} (#PF)`,
            cr0GuestHostMask: `${hex(v.peek(VMCS.CR0_GUEST_HOST_MASK))} (PG owned by the VMM; the guest reads the CR0 read shadow)`,
            memoryVirtualization: 'shadow page tables copying the guest U bit, one per guest address space and mode, kept coherent by tracing guest page-table writes',
            tlbTagging: 'none (no VPID): every VM entry flushes the TLB',
          }),
      vmcsReadsPerExit: exits === 0 ? 0 : Math.round((100 * c.vmcsReads) / exits) / 100,
      vmcsWritesPerExit: exits === 0 ? 0 : Math.round((100 * c.vmcsWrites) / exits) / 100,
    };
  }

  private outcome(): EngineOutcome {
    const { phys, vm, c, hw } = this;
    c.nestedWalkRefs = phys.mmu.eptRefs;
    c.emulatedPortAccesses = vm.dev.portReads + vm.dev.portWrites;
    c.physicalPortAccesses = phys.dev.portReads + phys.dev.portWrites;
    c.nativeFlagInstructions = nativeFlagCount(phys);
    c.nativeControlInstructions = nativeControlCount(phys);
    c.vmcsReads = hw.vmcs.reads;
    c.vmcsWrites = hw.vmcs.writes;
    countHardwareDeliveries(c, hw.nativeDeliveries);
    return machineOutcome(vm, phys, c, [], this.details());
  }
}
