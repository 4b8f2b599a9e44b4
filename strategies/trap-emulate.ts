/**
 * trap-emulate — classic trap-and-emulate (Popek & Goldberg). The guest kernel runs directly on the hardware,
 * deprivileged to user mode. Privileged instructions trap to the VMM, which emulates them on the virtual CPU
 * (virtual mode, virtual IF, virtual control registers) and resumes; system calls and faults of the guest are
 * reflected into the guest kernel's own vectors; virtual interrupts are injected only while the virtual IF is
 * set. Memory: shadow page tables, one per virtual mode.
 *
 * On the default ISA this is NOT faithful: popf, pushf and rdmode are sensitive but do not trap, so the
 * guest kernel's `popf` silently fails to re-enable the virtual IF (and pushf and rdmode tell it the truth
 * about the physical CPU). The fidelity oracle records each such instruction. On `--isa classic` they trap,
 * and the engine is exact.
 */
import { withRecycledMemory } from '../src/hw/memory.js';
import { CR_CTRL, CR_PTBR, FRAME_SIZE, SP, VEC_PAGE_FAULT, VEC_PRIVILEGE, VEC_SYSCALL, vectorName } from '../src/isa/arch.js';
import { fieldRd, fieldRs, immOf } from '../src/isa/encoding.js';
import { INSTRUCTIONS, opcodeOf } from '../src/isa/table.js';
import { ACCESS_WRITE, VEC_MACHINE_CHECK } from '../src/hw/mmu.js';
import { DeprivilegedVmm } from '../src/vmm/deprivileged.js';
import { accessOf, ShadowPaging } from '../src/vmm/shadow.js';
import type { Engine, RunSpec } from './engine.js';

const OP_MTCR = opcodeOf('mtcr');
const OP_INVLPG = opcodeOf('invlpg');
const OP_STW = opcodeOf('stw');
const OP_STB = opcodeOf('stb');
/** Instructions that store one word at sp - 4. */
/** Instructions that store a word below sp without naming it (the table's stack effects). */
const PUSHING = new Set(INSTRUCTIONS.filter((d) => d.stack === 'push').map((d) => d.opcode));

/** The trap-and-emulate VMM; also the base of engines that trap the same way for some code (dbt). */
export class TrapAndEmulateVmm extends DeprivilegedVmm {
  /** Shadow page tables, one per virtual mode (ring compression). */
  readonly shadow: ShadowPaging;

  constructor(spec: RunSpec) {
    super(spec);
    this.shadow = new ShadowPaging(this.p, this.c, this.p.vmmFrames, true);
  }

  protected pageTableBase(mode: number): number {
    return this.shadow.root(mode);
  }

  /** Where the store about to be emulated writes, if it hits a traced page table (-1 otherwise). */
  protected tracedStore = -1;

  /** Before emulating a store (or a push): does it write a traced page table? (Then the shadows must follow it.) */
  protected override beforeEmulation(word: number): void {
    this.tracedStore = -1;
    const op = word >>> 24;
    const vm = this.vm;
    let va: number;
    if (op === OP_STW || op === OP_STB) va = (vm.cpu.regs[fieldRs(word)] + immOf(word, 's16')) | 0;
    else if (PUSHING.has(op)) va = (vm.cpu.regs[SP] - 4) | 0;
    else return;
    const pa = vm.mmu.translate(va, ACCESS_WRITE, vm.cpu.mode, true);
    if (pa >= 0 && this.shadow.isTraced(pa & ~0xfff)) this.tracedStore = pa;
  }

  /** Keep the shadows coherent with what an emulated instruction did to the guest's MMU. */
  protected override onEmulated(word: number): void {
    const op = word >>> 24;
    if (op === OP_MTCR) {
      // A new page-table base or a paging switch: switch shadows (tracing kept the cached ones valid).
      const cr = fieldRd(word);
      if (cr === CR_PTBR || cr === CR_CTRL) {
        this.shadow.baseChanged();
        this.reloadPageTables();
      }
    } else if (op === OP_INVLPG) {
      this.shadow.invalidate(this.vm.cpu.regs[fieldRs(word)]);
    } else if (this.tracedStore >= 0) {
      this.shadow.tracedWrite(this.tracedStore);
      this.tracedStore = -1;
    }
  }

  /** The virtual CPU delivered an exception: its frame may have landed on a traced page table. */
  protected override delivered(): void {
    if (this.vm.status === 'running') this.shadow.virtualCpuWrote(this.vm.cpu.regs[SP], FRAME_SIZE);
  }

  protected handleTrap(): void {
    const { vm, phys } = this;
    const f = phys.fault;
    const pc = vm.cpu.pc;
    const mode = vm.cpu.mode;
    if (f.vector === VEC_SYSCALL) {
      // The syscall already completed on the hardware: deliver it into the guest kernel.
      this.entry('trap', 'syscall', (pc - 4) | 0, mode, 'reflected into the guest kernel');
      this.reflect(VEC_SYSCALL, 0, 0);
      return;
    }
    if (f.vector === VEC_PAGE_FAULT) {
      this.pageFault(f.addr, f.code, pc, mode);
      return;
    }
    if (f.vector === VEC_MACHINE_CHECK) {
      vm.stop('machine-check', `machine check at pc 0x${(pc >>> 0).toString(16)}: ${f.message}`);
      return;
    }
    // A privileged instruction (#GP), an undefined one (#UD) or a fault: let the virtual CPU execute it. In
    // virtual supervisor mode it does what the instruction does; in virtual user mode, or if the instruction
    // faults there too, the virtual CPU delivers the exception into the guest kernel.
    const reason = f.vector === VEC_PRIVILEGE && mode === 0 ? this.trapReason(f.vector, pc) : vectorName(f.vector);
    const clock = vm.retired;
    const retired = this.emulateOnVirtualCpu();
    this.entry('trap', reason, pc, mode, retired ? 'emulated on the virtual CPU' : 'reflected into the guest kernel', clock);
  }

  /** A page fault on the shadows: build the missing entry, emulate a traced write, or reflect the guest's fault. */
  protected pageFault(addr: number, code: number, pc: number, mode: number): void {
    const vm = this.vm;
    const r = this.shadow.handleFault(addr, accessOf(code), mode);
    if (r === 'traced') {
      // A store to one of the guest's page tables: emulate it, then bring the shadows up to date.
      const clock = vm.retired;
      this.emulateOnVirtualCpu();
      this.entry('trap', 'page fault (traced write)', pc, mode, 'store emulated; the shadow entry it changes updated', clock);
      this.tracedWriteDone(pc);
    } else if (r === 'hidden') {
      this.c.hiddenPageFaults++;
      this.entry('trap', 'page fault (hidden)', pc, mode, 'shadow page-table entry built; the guest never sees it');
    } else if (r === 'true') {
      this.c.truePageFaults++;
      this.entry('trap', 'page fault (true)', pc, mode, 'reflected into the guest kernel');
      this.reflect(VEC_PAGE_FAULT, vm.fault.code, addr);
    } else {
      vm.stop('machine-check', `machine check at pc 0x${(pc >>> 0).toString(16)}: ${vm.fault.message}`);
    }
  }

  /** A traced write at guest pc was handled (dbt uses this to turn the store into a callout). */
  protected tracedWriteDone(_pc: number): void {}
}

export const trapEmulate: Engine = {
  id: 'trap-emulate',
  title: 'trap-and-emulate',
  summary:
    'The guest kernel runs directly, deprivileged; privileged instructions trap to the VMM, which emulates them on a virtual CPU.',
  guest: 'native',
  faithfulOn: ['classic'],
  options: [],
  run(spec) {
    return withRecycledMemory(() => new TrapAndEmulateVmm(spec).run());
  },
};
