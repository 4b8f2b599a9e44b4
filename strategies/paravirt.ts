/**
 * paravirt — paravirtualization, Xen style (Barham et al., SOSP 2003). The guest is the *paravirtual build* of
 * the kernel: its sensitive operations are hypercalls (`vmcall`) or plain accesses to a shared-info page
 * (docs/paravirt.md). The hypervisor runs it deprivileged on the physical machine, directly, like
 * trap-and-emulate — but nothing it does needs to trap except what it asks for explicitly:
 *
 *  - a `vmcall` reaches the hypervisor as #UD at the vmcall; from the guest kernel it is a hypercall (from guest
 *    user code it is the #UD it would be on bare metal, reflected into the guest kernel);
 *  - interrupt masking is a store to SH_MASK and never enters the hypervisor; events that arrive masked set
 *    SH_PENDING, and the guest asks for them (HC_EVENT_CHECK, an unmasking HC_IRET, HC_BLOCK);
 *  - memory: no shadow page tables. The hardware walks the guest's own validated tables while guest kernel
 *    code runs, and a derived user view without the kernel-only entries while guest user code runs
 *    (src/vmm/pv-mmu.ts);
 *  - system calls and faults of guest user code still reach the hypervisor (the hardware delivers them to it,
 *    not to a ring-1 guest kernel) and are reflected into the guest kernel exactly as hardware would deliver
 *    them, with the virtual IF taken from SH_MASK.
 */
import { withRecycledMemory } from '../src/hw/memory.js';
import {
  CR_ECODE,
  CR_FAULTADDR,
  CR_TPR,
  MODE_USER,
  PF_FETCH,
  PF_PROTECTION,
  PF_USER,
  PF_WRITE,
  VEC_DISK,
  VEC_INVALID_OPCODE,
  VEC_PAGE_FAULT,
  VEC_SYSCALL,
  vectorName,
} from '../src/isa/arch.js';
import { opcodeOf } from '../src/isa/table.js';
import { VEC_MACHINE_CHECK } from '../src/hw/mmu.js';
import { DeprivilegedVmm } from '../src/vmm/deprivileged.js';
import { HC_BLOCK, HC_IRET, HC_SHUTDOWN, hypercallReason } from '../src/vmm/pv-abi.js';
import { Hypercalls, type PvHost } from '../src/vmm/pv-hypercalls.js';
import { PvMmu } from '../src/vmm/pv-mmu.js';
import { SharedInfo } from '../src/vmm/pv-shared.js';
import type { Engine, EngineOutcome, RunSpec } from './engine.js';

const OP_VMCALL = opcodeOf('vmcall');

export class ParavirtVmm extends DeprivilegedVmm implements PvHost {
  readonly shared: SharedInfo;
  readonly pvMmu: PvMmu;
  readonly hypercalls: Hypercalls;

  constructor(spec: RunSpec) {
    super(spec);
    this.shared = new SharedInfo(this.p.vm.mem);
    this.pvMmu = new PvMmu(this.p, () => this.reloadPageTables());
    this.hypercalls = new Hypercalls(this);
  }

  protected pageTableBase(mode: number): number {
    return this.pvMmu.base(mode);
  }

  protected handleTrap(): void {
    const { vm, phys } = this;
    const f = phys.fault;
    const pc = vm.cpu.pc;
    const mode = vm.cpu.mode;
    switch (f.vector) {
      case VEC_INVALID_OPCODE:
        if (mode !== MODE_USER && (this.guestWord(pc) ?? 0) >>> 24 === OP_VMCALL) {
          this.hypercall(pc, mode);
          return;
        }
        break; // an undefined instruction, or a user program trying to call the hypervisor: #UD, as on bare metal
      case VEC_SYSCALL:
        // The syscall completed on the hardware (pc is after it): deliver it into the guest kernel.
        this.entry('trap', 'syscall', (pc - 4) | 0, mode, 'reflected into the guest kernel');
        this.reflect(VEC_SYSCALL, 0, 0);
        return;
      case VEC_PAGE_FAULT:
        this.pageFault(f.addr, f.code, pc, mode);
        return;
      case VEC_MACHINE_CHECK:
        vm.stop('machine-check', `machine check at pc 0x${(pc >>> 0).toString(16)}: ${f.message}`);
        return;
    }
    this.entry('trap', vectorName(f.vector), pc, mode, 'reflected into the guest kernel');
    this.reflect(f.vector, f.code, f.addr);
  }

  /**
   * Every page fault the hardware raises is the guest's own (there are no shadows to fill). Its error code is
   * the one the guest's tables explain: "protection" when the guest maps the page (a kernel-only page seen
   * from user code is absent from the user view, but present to the guest), "user" by the virtual mode.
   */
  private pageFault(addr: number, hwCode: number, pc: number, mode: number): void {
    this.c.truePageFaults++;
    const code =
      (this.pvMmu.guestMapsPresent(addr) ? PF_PROTECTION : 0) | (hwCode & (PF_WRITE | PF_FETCH)) | (mode === MODE_USER ? PF_USER : 0);
    this.entry('trap', 'page fault (true)', pc, mode, 'reflected into the guest kernel');
    this.reflect(VEC_PAGE_FAULT, code, addr);
  }

  /** A vmcall from the guest kernel: it retires, then the hypercall runs; r0 gets the result. */
  private hypercall(pc: number, mode: number): void {
    const vm = this.vm;
    const R = vm.cpu.regs;
    const clock = vm.retired;
    vm.retire(1, mode);
    this.c.emulatedInstructions++;
    vm.cpu.pc = (pc + 4) | 0;
    const n = R[0];
    const result = this.hypercalls.call(n, R[1], R[2], R[3]);
    if (result !== null) R[0] = result;
    const action = this.trace === null ? '' : this.hypercallAction(n, result);
    this.entry('hypercall', hypercallReason(n), pc, mode, action, clock);
  }

  /** What a hypercall did, for --trace. */
  private hypercallAction(n: number, result: number | null): string {
    if (n === HC_BLOCK) return 'events unmasked: the guest sleeps until one is delivered';
    if (result !== null) return `returned ${result}`;
    if (this.hypercalls.faulted) return 'faulted: the exception was reflected into the guest kernel';
    if (n === HC_IRET) {
      return `returned from the exception to ${this.vm.cpu.mode === MODE_USER ? 'user' : 'kernel'} code at 0x${(this.vm.cpu.pc >>> 0).toString(16)}`;
    }
    return n === HC_SHUTDOWN ? 'powering off' : 'did not return';
  }

  // --- Events and exceptions ---------------------------------------------------------------------------

  /**
   * Deliver a virtual event if the guest's mask and task priority allow it; otherwise tell the guest, through
   * SH_PENDING, that one is waiting. Runs on every pass of the VMM's loop, after the virtual devices.
   */
  protected override injectInterrupt(): boolean {
    const vm = this.vm;
    this.hypercalls.serviceDisk();
    this.syncVirtualIf();
    const v = vm.deliverableVector();
    if (v >= 0) {
      vm.acknowledge(v);
      vm.halted = false;
      this.c.injectedInterrupts++;
      const pc = vm.cpu.pc;
      const mode = vm.cpu.mode;
      if (this.deliver(v, 0, 0)) {
        this.emitTrace('inject', v === VEC_DISK ? 'disk' : 'timer', pc, mode, 'virtual event delivered to the guest kernel');
      }
    }
    this.shared.setPending(vm.irqPending !== 0);
    return v >= 0;
  }

  /** Reflect an exception of the guest into the guest kernel. */
  protected override reflect(vector: number, code: number, addr: number): void {
    this.c.reflectedExceptions++;
    this.deliver(vector, code, addr);
  }

  raiseGuestFault(vector: number, code: number, addr: number): void {
    this.reflect(vector, code, addr);
  }

  /** The virtual CPU's IF and TPR are what the guest keeps in its shared-info page. */
  private syncVirtualIf(): void {
    const cpu = this.vm.cpu;
    cpu.iflag = this.shared.masked ? 0 : 1;
    cpu.cr[CR_TPR] = this.shared.priority;
  }

  /**
   * Deliver through the guest's registered trap table and kernel stack exactly as the hardware would (the same
   * frame; FLAGS.IF = the inverse of the mask), then mask events and publish cr2 and the error code.
   */
  private deliver(vector: number, code: number, addr: number): boolean {
    const vm = this.vm;
    this.syncVirtualIf();
    if (!vm.raise(vector, code, addr)) return false; // a triple fault: the machine has stopped
    this.shared.setMasked(true);
    this.shared.setFault(vm.cpu.cr[CR_FAULTADDR], vm.cpu.cr[CR_ECODE]);
    return true;
  }

  /** The end state, with what the hypervisor did to the guest's page tables. */
  protected override outcome(details: EngineOutcome['details'] = {}): EngineOutcome {
    const mmu = this.pvMmu;
    this.c.validatedPageTableUpdates = mmu.updatesApplied + mmu.updatesRejected;
    return super.outcome({
      ...details,
      userViewTables: mmu.userViewTables,
      userViewCopies: mmu.userViewCopies,
      pageTablePagesOwned: mmu.ownedPages,
      pageTableUpdatesApplied: mmu.updatesApplied,
      pageTableUpdatesRejected: mmu.updatesRejected,
      writeProtectedEntries: mmu.writeProtectedEntries,
      multicallSubcalls: this.hypercalls.multicallSubcalls,
    });
  }
}

export const paravirt: Engine = {
  id: 'paravirt',
  title: 'paravirtualization',
  summary:
    'A modified guest kernel runs directly, deprivileged, and asks the hypervisor with hypercalls; interrupt masking is a store to a shared page.',
  guest: 'paravirt',
  faithfulOn: ['default', 'classic'],
  options: [],
  run(spec) {
    return withRecycledMemory(() => new ParavirtVmm(spec).run());
  },
};
