/**
 * VMX non-root operation (src/hw/vmx.ts): each control produces its exit with Intel's reason and qualification,
 * the exception bitmap selects which vectors exit, CR0 guest/host mask and read shadow, TPR shadow and threshold,
 * interrupt-window timing, VM-entry event injection, and counted VMCS accesses. Small assembled guests run on a
 * machine with a Vmx attached; the test plays the VMM, setting fields with the processor's uncounted accessors.
 */
import { describe, expect, it } from 'vitest';
import { CR_CTRL, CR_TPR, FLAG_IF, PF_WRITE, PTE_P, PTE_U, PTE_W, VEC_DIVIDE, VEC_PAGE_FAULT, VEC_SYSCALL, VEC_TIMER } from '../../src/isa/arch.js';
import { Machine } from '../../src/hw/machine.js';
import {
  ACTIVITY_HLT,
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
  EPT_QUAL_FETCH,
  EPT_QUAL_FINAL_TRANSLATION,
  EPT_QUAL_LINEAR_VALID,
  EPT_QUAL_READ,
  EPT_QUAL_WRITE,
  EXIT_CR_ACCESS,
  EXIT_EPT_VIOLATION,
  EXIT_EXCEPTION_OR_NMI,
  EXIT_EXTERNAL_INTERRUPT,
  EXIT_HLT,
  EXIT_INTERRUPT_WINDOW,
  EXIT_INVLPG,
  EXIT_IO_INSTRUCTION,
  EXIT_TPR_BELOW_THRESHOLD,
  EXIT_TRIPLE_FAULT,
  EXIT_VMCALL,
  INTERRUPTIBILITY_STI,
  VMCS,
  Vmcs,
  VmxError,
} from '../../src/hw/vmcs.js';
import { Vmx } from '../../src/hw/vmx.js';
import { asm, peek } from '../support/machine.js';

const VECTORS = 0x4000;
const STACK = 0x8000;
const PGDIR = 0x10000;
const PGTABLE = 0x11000;

interface Guest {
  m: Machine;
  hw: Vmx;
  v: Vmcs;
  sym(name: string): number;
  /** VMRESUME after the VMM skipped the exiting instruction (RIP += exit instruction length). */
  skip(): void;
}

interface GuestSetup {
  controls?: number;
  bitmap?: number;
  rflags?: number;
  mode?: 0 | 1;
  regs?: Record<number, number>;
  /** Identity-map the first 4 MiB (supervisor and user, writable), paging on. */
  paging?: boolean;
}

/** Assemble a guest (code from 0, `.org` for data), load it, VMXON, and fill the VMCS like a minimal VMM. */
function guest(source: string, s: GuestSetup = {}): Guest {
  const a = asm(source);
  const m = new Machine({ memoryBytes: 1 << 22 });
  m.mem.load(a.image, 0);
  const hw = new Vmx(m);
  const v = hw.vmcs;
  v.set(VMCS.PROCESSOR_CONTROLS, s.controls ?? 0);
  v.set(VMCS.EXCEPTION_BITMAP, s.bitmap ?? 0);
  v.set(VMCS.GUEST_RSP, STACK);
  v.set(VMCS.GUEST_RFLAGS, s.rflags ?? 0);
  v.set(VMCS.VS_GUEST_MODE, s.mode ?? 0);
  v.set(VMCS.GUEST_IDTR_BASE, VECTORS);
  v.set(VMCS.VS_GUEST_KSP, STACK);
  for (const [r, val] of Object.entries(s.regs ?? {})) m.cpu.regs[Number(r)] = val;
  if (s.paging) {
    m.mem.i32[PGDIR >>> 2] = PGTABLE | PTE_P | PTE_W | PTE_U;
    for (let i = 0; i < 1024; i++) m.mem.i32[(PGTABLE >>> 2) + i] = (i << 12) | PTE_P | PTE_W | PTE_U;
    v.set(VMCS.GUEST_CR0, 1);
    v.set(VMCS.GUEST_CR3, PGDIR);
  }
  const sym = (name: string): number => {
    const x = a.symbols.get(name);
    if (x === undefined) throw new Error(`no symbol ${name}`);
    return x;
  };
  const skip = (): void => v.set(VMCS.GUEST_RIP, v.get(VMCS.GUEST_RIP) + v.get(VMCS.EXIT_INSTRUCTION_LENGTH));
  return { m, hw, v, sym, skip };
}

/** A trap-vector table at VECTORS with the given handlers. */
function vectors(entries: Record<number, string>): string {
  const lines = Object.entries(entries).map(([n, h]) => `        .org vectors + ${Number(n) * 4}\n        .word ${h}`);
  return `        .org ${VECTORS}\nvectors:\n${lines.join('\n')}\n        .org vectors + 1024\n`;
}

describe('instruction exits: reason, qualification, and the instruction does not execute', () => {
  it('HLT exiting: hlt exits with reason 12 before it retires; without it the CPU halts until the physical timer (1)', () => {
    const src = `
start:  movi r1, 1
        hlt
        movi r2, 2
`;
    const g = guest(src, { controls: CPU_HLT_EXITING });
    expect(g.hw.run(1000)).toBe(EXIT_HLT);
    expect(g.v.get(VMCS.EXIT_REASON)).toBe(EXIT_HLT);
    expect(g.v.get(VMCS.GUEST_RIP)).toBe(4);
    expect(g.v.get(VMCS.EXIT_INSTRUCTION_LENGTH)).toBe(4);
    expect(g.m.retired).toBe(1);

    const h = guest(src);
    expect(h.hw.run(50)).toBe(EXIT_EXTERNAL_INTERRUPT);
    expect(h.v.get(VMCS.GUEST_ACTIVITY_STATE)).toBe(ACTIVITY_HLT);
    expect(h.v.get(VMCS.GUEST_RIP)).toBe(8); // hlt retired
    expect(h.m.retired).toBe(2);
    expect(h.m.idle).toBe(48); // asleep until the timer the VMM programmed for 50 instructions
  });

  it('unconditional I/O exiting: reason 30 with size - 1, direction and port in the qualification', () => {
    const g = guest(
      `
        in   r3, 0x11
        out  0x20, r1
        in   r4, 0x36
`,
      { controls: CPU_UNCONDITIONAL_IO_EXITING },
    );
    expect(g.hw.run(100)).toBe(EXIT_IO_INSTRUCTION);
    expect(g.v.get(VMCS.EXIT_QUALIFICATION)).toBe(0x0011000b); // 4 bytes (3), in (bit 3), port 0x11
    expect(g.m.cpu.regs[3]).toBe(0);
    expect(g.m.dev.portReads).toBe(0);
    g.skip();
    expect(g.hw.run(100)).toBe(EXIT_IO_INSTRUCTION);
    expect(g.v.get(VMCS.EXIT_QUALIFICATION)).toBe(0x00200003); // out
    expect(g.m.retired).toBe(0);
  });

  it('without I/O exiting the access reaches the physical device; I/O bitmaps select ports', () => {
    const src = `
        in   r3, 0x11
        in   r4, 0x36
        in   r5, 0x8001
`;
    const g = guest(src);
    expect(g.hw.run(3)).toBe(EXIT_EXTERNAL_INTERRUPT);
    expect(g.m.cpu.regs[3]).toBe(1);
    expect(g.m.dev.portReads).toBe(3);

    // Bitmaps override unconditional I/O exiting: only marked ports exit (A: 0x0000-0x7fff, B: 0x8000-0xffff).
    const b = guest(src, { controls: CPU_USE_IO_BITMAPS | CPU_UNCONDITIONAL_IO_EXITING });
    b.v.set(VMCS.IO_BITMAP_A, 0x20000);
    b.v.set(VMCS.IO_BITMAP_B, 0x21000);
    b.m.mem.u8[0x20000 + (0x36 >>> 3)] |= 1 << (0x36 & 7);
    b.m.mem.u8[0x21000 + (1 >>> 3)] |= 1 << 1;
    expect(b.hw.run(100)).toBe(EXIT_IO_INSTRUCTION);
    expect(b.v.get(VMCS.EXIT_QUALIFICATION) >>> 16).toBe(0x36);
    expect(b.m.retired).toBe(1); // port 0x11 was not marked
    b.skip();
    expect(b.hw.run(100)).toBe(EXIT_IO_INSTRUCTION);
    expect(b.v.get(VMCS.EXIT_QUALIFICATION) >>> 16).toBe(0x8001);
  });

  it('CR3 and CR8 load/store exiting: reason 28 with CR number, access type and register', () => {
    const g = guest(
      `
        mtcr ptbr, r5
        mfcr r7, ptbr
        mtcr tpr, r2
        mfcr r9, tpr
`,
      { controls: CPU_CR3_LOAD_EXITING | CPU_CR3_STORE_EXITING | CPU_CR8_LOAD_EXITING | CPU_CR8_STORE_EXITING, regs: { 5: 0x90000 } },
    );
    const quals: number[] = [];
    for (let i = 0; i < 4; i++) {
      expect(g.hw.run(100)).toBe(EXIT_CR_ACCESS);
      quals.push(g.v.get(VMCS.EXIT_QUALIFICATION));
      g.skip();
    }
    // cr | type << 4 | gpr << 8: mov to cr3 from r5, mov from cr3 to r7, mov to cr8 from r2, mov from cr8 to r9
    expect(quals).toEqual([0x503, 0x713, 0x208, 0x918]);
    expect(g.m.retired).toBe(0);

    const n = guest('        mtcr ptbr, r5\n        mfcr r7, ptbr\n', { regs: { 5: 0x90000 } });
    expect(n.hw.run(2)).toBe(EXIT_EXTERNAL_INTERRUPT);
    expect(n.m.cpu.regs[7]).toBe(0x90000);
  });

  it('INVLPG exiting: reason 14, the qualification is the linear address', () => {
    const g = guest('        invlpg r4\n', { controls: CPU_INVLPG_EXITING, regs: { 4: 0x12345 } });
    expect(g.hw.run(10)).toBe(EXIT_INVLPG);
    expect(g.v.get(VMCS.EXIT_QUALIFICATION)).toBe(0x12345);
    expect(g.v.get(VMCS.GUEST_LINEAR_ADDRESS)).toBe(0x12345);
    expect(g.m.mmu.invalidations).toBe(0);
    const n = guest('        invlpg r4\n', { regs: { 4: 0x12345 } });
    expect(n.hw.run(1)).toBe(EXIT_EXTERNAL_INTERRUPT);
    expect(n.m.mmu.invalidations).toBe(1);
  });

  it('vmcall always exits with reason 18, in user mode too and with no controls set', () => {
    const g = guest('        nop\n        vmcall\n', { mode: 1 });
    expect(g.hw.run(10)).toBe(EXIT_VMCALL);
    expect(g.v.get(VMCS.GUEST_RIP)).toBe(4);
    expect(g.v.get(VMCS.VS_GUEST_MODE)).toBe(1);
  });

  it('privileged instructions in guest user mode fault (#GP) before any exit is considered', () => {
    const g = guest(`        in r1, 0x11\n${vectors({ 13: 'vectors' })}`, { mode: 1, controls: CPU_UNCONDITIONAL_IO_EXITING, bitmap: 1 << 13 });
    expect(g.hw.run(10)).toBe(EXIT_EXCEPTION_OR_NMI);
    expect(g.v.get(VMCS.EXIT_INTERRUPTION_INFO)).toBe(0x80000b0d); // #GP, hardware exception, error code valid
  });
});

describe('exceptions and the exception bitmap', () => {
  const DIVIDE = `
start:  movi r1, 0
        div  r2, r2, r1
        movi r8, 5
de:     movi r9, 77
        hlt
${vectors({ [VEC_DIVIDE]: 'de', [VEC_SYSCALL]: 'de' })}`;

  it('a vector in the bitmap exits with reason 0 and the exit interruption information', () => {
    const g = guest(DIVIDE, { bitmap: 1 << VEC_DIVIDE, controls: CPU_HLT_EXITING });
    expect(g.hw.run(100)).toBe(EXIT_EXCEPTION_OR_NMI);
    expect(g.v.get(VMCS.EXIT_INTERRUPTION_INFO)).toBe(0x80000300); // vector 0 | hardware exception << 8 | valid
    expect(g.v.get(VMCS.GUEST_RIP)).toBe(4); // the faulting div
    expect(g.m.cpu.regs[9]).toBe(0);
    expect(g.hw.nativeDeliveries[VEC_DIVIDE]).toBe(0);
  });

  it('a vector not in the bitmap is delivered natively through the guest vectors', () => {
    const g = guest(DIVIDE, { bitmap: ~(1 << VEC_DIVIDE), controls: CPU_HLT_EXITING });
    expect(g.hw.run(100)).toBe(EXIT_HLT);
    expect(g.m.cpu.regs[9]).toBe(77);
    expect(g.v.get(VMCS.GUEST_RSP)).toBe(STACK - 16);
    expect(peek(g.m, STACK - 16)).toBe(4); // return address: the div
    expect(g.hw.nativeDeliveries[VEC_DIVIDE]).toBe(1);
  });

  it('syscall is a software interrupt: never subject to the bitmap', () => {
    const g = guest(`        syscall\n${DIVIDE.slice(DIVIDE.indexOf('de:'))}`, { bitmap: 0xffffffff, controls: CPU_HLT_EXITING });
    expect(g.hw.run(100)).toBe(EXIT_HLT);
    expect(g.m.cpu.regs[9]).toBe(77);
    expect(g.hw.nativeDeliveries[VEC_SYSCALL]).toBe(1);
  });

  it('#PF in the bitmap: qualification = faulting address, error code readable, cr2 untouched', () => {
    const src = `
        ldw  r1, [r2]
pf:     hlt
${vectors({ [VEC_PAGE_FAULT]: 'pf' })}`;
    const g = guest(src, { paging: true, bitmap: 1 << VEC_PAGE_FAULT, regs: { 2: 0x400010 } });
    expect(g.hw.run(100)).toBe(EXIT_EXCEPTION_OR_NMI);
    expect(g.v.get(VMCS.EXIT_INTERRUPTION_INFO)).toBe(0x80000b0e); // 14 | 3 << 8 | error code valid | valid
    expect(g.v.get(VMCS.EXIT_QUALIFICATION)).toBe(0x400010);
    expect(g.v.get(VMCS.EXIT_INTERRUPTION_ERROR_CODE)).toBe(0); // not present, read, supervisor
    expect(g.v.get(VMCS.VS_GUEST_FAULT_ADDRESS)).toBe(0);
    expect(g.v.get(VMCS.GUEST_RIP)).toBe(0);

    const n = guest(src, { paging: true, controls: CPU_HLT_EXITING, regs: { 2: 0x400010 } });
    expect(n.hw.run(100)).toBe(EXIT_HLT);
    expect(n.v.get(VMCS.VS_GUEST_FAULT_ADDRESS)).toBe(0x400010); // delivered natively: cr2 set
  });

  it('a #PF while delivering an event exits with the event in the IDT-vectoring information', () => {
    // The stack is unmapped (above the identity-mapped 4 MiB), so writing the syscall's frame faults.
    const g = guest(`        syscall\n${vectors({ [VEC_SYSCALL]: 'vectors' })}`, { paging: true, bitmap: 1 << VEC_PAGE_FAULT });
    g.v.set(VMCS.GUEST_RSP, 0x400100);
    expect(g.hw.run(100)).toBe(EXIT_EXCEPTION_OR_NMI);
    expect(g.v.get(VMCS.EXIT_QUALIFICATION)).toBe(0x4000f0); // the frame
    expect(g.v.get(VMCS.EXIT_INTERRUPTION_ERROR_CODE)).toBe(PF_WRITE);
    expect(g.v.get(VMCS.IDT_VECTORING_INFO)).toBe(0x80000480); // vector 0x80, software interrupt, valid
    expect(g.v.get(VMCS.GUEST_RIP)).toBe(4); // the syscall retired
    expect(g.m.status).toBe('running');
  });

  it('a delivery that cannot succeed is a triple fault: exit reason 2, the machine keeps running', () => {
    const g = guest(`        syscall\n${vectors({ 0: 'vectors' })}`);
    expect(g.hw.run(100)).toBe(EXIT_TRIPLE_FAULT);
    expect(g.m.status).toBe('running');
    expect(g.hw.tripleFaultMessage).toMatch(/could not deliver syscall \(vector 128\).*is zero/);
  });
});

describe('control registers the guest partly owns', () => {
  it('CR0 guest/host mask: writes changing an owned bit exit, other bits are written, owned bits read the shadow', () => {
    const g = guest(
      `
        mfcr r1, ctrl
        mtcr ctrl, r2
        mfcr r3, ctrl
        mtcr ctrl, r4
`,
      { paging: true, regs: { 2: 0x10, 4: 0x11 } },
    );
    g.v.set(VMCS.CR0_GUEST_HOST_MASK, 1);
    g.v.set(VMCS.CR0_READ_SHADOW, 0);
    expect(g.hw.run(100)).toBe(EXIT_CR_ACCESS);
    expect(g.m.cpu.regs[1]).toBe(0); // PG reads as the shadow says, though paging is on
    expect(g.m.cpu.regs[3]).toBe(0x10); // the guest-owned bit was written
    expect(g.v.get(VMCS.GUEST_CR0)).toBe(0x11); // PG kept by the host
    expect(g.v.get(VMCS.EXIT_QUALIFICATION)).toBe(0x400); // mov to cr0 from r4
    expect(g.m.retired).toBe(3);
  });

  it('TPR shadow: cr8 reads and writes use the virtual TPR; a write below the threshold exits after it completes (43)', () => {
    const g = guest(
      `
        mtcr tpr, r1
        mfcr r2, tpr
        mtcr tpr, r3
        movi r4, 1
`,
      { controls: CPU_USE_TPR_SHADOW, regs: { 1: 5, 3: 3 } },
    );
    g.v.set(VMCS.VS_VIRTUAL_TPR, 6);
    g.v.set(VMCS.TPR_THRESHOLD, 4);
    expect(g.hw.run(100)).toBe(EXIT_TPR_BELOW_THRESHOLD);
    expect(g.m.cpu.regs[2]).toBe(5);
    expect(g.v.get(VMCS.VS_VIRTUAL_TPR)).toBe(3);
    expect(g.v.get(VMCS.GUEST_RIP)).toBe(12); // trap-like: after the write
    expect(g.m.cpu.cr[CR_TPR]).toBe(0); // the physical TPR is untouched
    expect(g.m.retired).toBe(3);
  });

  it('VM entry fails when the TPR threshold is above the virtual TPR', () => {
    const g = guest('        nop\n', { controls: CPU_USE_TPR_SHADOW });
    g.v.set(VMCS.VS_VIRTUAL_TPR, 3);
    g.v.set(VMCS.TPR_THRESHOLD, 7);
    expect(() => g.hw.run(10)).toThrow(VmxError);
  });
});

describe('interrupt-window exiting', () => {
  it('exits at the first boundary where IF = 1 and no sti shadow blocks: after the shadowed instruction', () => {
    const g = guest('        sti\n        nop\n        nop\n        nop\n', { controls: CPU_INTERRUPT_WINDOW_EXITING });
    expect(g.hw.run(100)).toBe(EXIT_INTERRUPT_WINDOW);
    expect(g.m.retired).toBe(2); // sti, then the nop in its shadow
    expect(g.v.get(VMCS.GUEST_RIP)).toBe(8);
    expect(g.v.get(VMCS.GUEST_INTERRUPTIBILITY)).toBe(0);
  });

  it('popf and iret that set IF exit right after they retire', () => {
    const p = guest('        push r1\n        popf\n        nop\n', { controls: CPU_INTERRUPT_WINDOW_EXITING, regs: { 1: FLAG_IF } });
    expect(p.hw.run(100)).toBe(EXIT_INTERRUPT_WINDOW);
    expect(p.v.get(VMCS.GUEST_RIP)).toBe(8);

    const i = guest(
      `
        li   r1, 0x7000
        push r1          ; SP
        movi r1, 0
        push r1          ; MODE
        li   r1, ${FLAG_IF}
        push r1          ; FLAGS
        li   r1, back
        push r1          ; PC
        iret
        nop
back:   nop
`,
      { controls: CPU_INTERRUPT_WINDOW_EXITING },
    );
    expect(i.hw.run(100)).toBe(EXIT_INTERRUPT_WINDOW);
    expect(i.v.get(VMCS.GUEST_RIP)).toBe(i.sym('back'));
  });

  it('exits at once when the window is open at entry; after one instruction when entry restores an sti shadow', () => {
    const g = guest('        nop\n        nop\n', { controls: CPU_INTERRUPT_WINDOW_EXITING, rflags: FLAG_IF });
    expect(g.hw.run(100)).toBe(EXIT_INTERRUPT_WINDOW);
    expect(g.m.retired).toBe(0);

    const s = guest('        nop\n        nop\n', { controls: CPU_INTERRUPT_WINDOW_EXITING, rflags: FLAG_IF });
    s.v.set(VMCS.GUEST_INTERRUPTIBILITY, INTERRUPTIBILITY_STI);
    expect(s.hw.run(100)).toBe(EXIT_INTERRUPT_WINDOW);
    expect(s.m.retired).toBe(1);
  });

  it('with IF = 0 the guest runs until the physical timer (reason 1 after exactly `deadline` instructions)', () => {
    const g = guest('loop:   addi r1, r1, 1\n        jmp  loop\n', { controls: CPU_INTERRUPT_WINDOW_EXITING });
    expect(g.hw.run(7)).toBe(EXIT_EXTERNAL_INTERRUPT);
    expect(g.m.retired).toBe(7);
    expect(g.m.cpu.regs[1]).toBe(4);
    expect(g.v.get(VMCS.GUEST_RIP)).toBe(4);
  });
});

describe('VM-entry event injection', () => {
  const HANDLER = `
start:  nop
        nop
tick:   movi r9, 1
        mfcr r1, faultaddr
        mfcr r2, ecode
        hlt
${vectors({ [VEC_TIMER]: 'tick', [VEC_PAGE_FAULT]: 'tick' })}`;

  it('an injected interrupt is delivered through the guest vectors as part of entry', () => {
    const g = guest(HANDLER, { controls: CPU_HLT_EXITING, rflags: FLAG_IF });
    g.v.set(VMCS.ENTRY_INTERRUPTION_INFO, 0x80000000 | VEC_TIMER);
    expect(g.hw.run(100)).toBe(EXIT_HLT);
    expect(g.m.cpu.regs[9]).toBe(1);
    expect(peek(g.m, STACK - 16)).toBe(0); // return address: the first instruction, not yet run
    expect(peek(g.m, STACK - 12)).toBe(FLAG_IF);
    expect(g.hw.injectedDeliveries[VEC_TIMER]).toBe(1);
    expect(g.hw.nativeDeliveries.reduce((a, b) => a + b, 0)).toBe(0);
    expect(g.v.get(VMCS.ENTRY_INTERRUPTION_INFO) >>> 31).toBe(0); // consumed
    expect(g.v.get(VMCS.GUEST_RFLAGS) & FLAG_IF).toBe(0);
  });

  it('VM entry refuses to inject an external interrupt into a guest with IF = 0 or in an sti shadow', () => {
    const g = guest(HANDLER, { controls: CPU_HLT_EXITING });
    g.v.set(VMCS.ENTRY_INTERRUPTION_INFO, 0x80000000 | VEC_TIMER);
    expect(() => g.hw.run(100)).toThrow(/IF = 0/);
    const s = guest(HANDLER, { controls: CPU_HLT_EXITING, rflags: FLAG_IF });
    s.v.set(VMCS.ENTRY_INTERRUPTION_INFO, 0x80000000 | VEC_TIMER);
    s.v.set(VMCS.GUEST_INTERRUPTIBILITY, INTERRUPTIBILITY_STI);
    expect(() => s.hw.run(100)).toThrow(VmxError);
  });

  it('an injected #PF carries its error code and the cr2 the VMM put in the guest state; injection wakes a halted guest', () => {
    const g = guest(HANDLER, { controls: CPU_HLT_EXITING });
    g.v.set(VMCS.ENTRY_INTERRUPTION_INFO, 0x80000b0e);
    g.v.set(VMCS.ENTRY_EXCEPTION_ERROR_CODE, 6);
    g.v.set(VMCS.VS_GUEST_FAULT_ADDRESS, 0x1234);
    g.v.set(VMCS.GUEST_ACTIVITY_STATE, ACTIVITY_HLT);
    expect(g.hw.run(100)).toBe(EXIT_HLT);
    expect(g.m.cpu.regs[1]).toBe(0x1234);
    expect(g.m.cpu.regs[2]).toBe(6);
  });
});

describe('VMCS accesses', () => {
  it('VMREAD and VMWRITE are counted; the processor’s own accesses during entry and exit are not', () => {
    const g = guest('        hlt\n', { controls: CPU_HLT_EXITING });
    const { v } = g;
    expect([v.reads, v.writes]).toEqual([0, 0]);
    g.hw.run(10);
    expect([v.reads, v.writes]).toEqual([0, 0]);
    expect(v.read(VMCS.EXIT_REASON)).toBe(EXIT_HLT);
    v.write(VMCS.GUEST_RIP, 4);
    v.read(VMCS.EXIT_QUALIFICATION);
    expect([v.reads, v.writes]).toEqual([2, 1]);
    expect(v.peek(VMCS.GUEST_RIP)).toBe(4);
    expect(v.reads).toBe(2);
  });

  it('read-only exit-information fields cannot be written; unknown encodings are refused', () => {
    const v = new Vmcs();
    expect(() => v.write(VMCS.EXIT_REASON, 1)).toThrow(/read-only/);
    expect(() => v.read(0x4444)).toThrow(/unsupported/);
    expect(v.writes).toBe(0);
    v.write(VMCS.GUEST_CR0, CR_CTRL + 1);
    expect(v.read(VMCS.GUEST_CR0)).toBe(1);
  });
});

describe('nested paging (EPT): the second dimension of the walk', () => {
  const EPT_DIR = 0x300000;
  const EPT_TABLE = 0x301000;
  /** The test plays a VMM with nested paging: secondary controls, an (initially empty) nested table. */
  function eptGuest(source: string, secondary = CPU2_ENABLE_EPT): Guest {
    const g = guest(source, { paging: true, controls: CPU_ACTIVATE_SECONDARY_CONTROLS | CPU_HLT_EXITING, regs: { 2: 0x2000, 3: 0x3000 } });
    g.v.set(VMCS.SECONDARY_PROCESSOR_CONTROLS, secondary);
    g.v.set(VMCS.EPT_POINTER, EPT_DIR);
    g.m.mem.i32[EPT_DIR >>> 2] = EPT_TABLE | PTE_P | PTE_W;
    return g;
  }
  /** Map guest-physical page `gpa` to host-physical `hpa` in the nested table. */
  const map = (g: Guest, gpa: number, hpa = gpa, w = true): void => {
    g.m.mem.i32[(EPT_TABLE >>> 2) + (gpa >>> 12)] = hpa | PTE_P | (w ? PTE_W : 0);
  };
  const SOURCE = `
        ldw  r1, [r2]
        stw  r1, [r3]
        hlt
        .org 0x2000
        .word 0x1234
`;

  it('each guest-physical address the 2-D walk needs exits with reason 48, in walk order, carrying that address', () => {
    const g = eptGuest(SOURCE);
    const exits: [number, number, number][] = [];
    for (let i = 0; i < 10; i++) {
      const reason = g.hw.run(10_000);
      if (reason !== EXIT_EPT_VIOLATION) {
        expect(reason).toBe(EXIT_HLT);
        break;
      }
      const gpa = g.v.get(VMCS.GUEST_PHYSICAL_ADDRESS);
      exits.push([gpa, g.v.get(VMCS.EXIT_QUALIFICATION), g.v.get(VMCS.GUEST_LINEAR_ADDRESS)]);
      expect(g.m.retired).toBe(exits.length < 5 ? 0 : 1); // the access did not happen; it is retried
      map(g, gpa & ~0xfff);
    }
    const walkEntry = EPT_QUAL_READ | EPT_QUAL_LINEAR_VALID; // reading a guest page-table entry
    const final = EPT_QUAL_LINEAR_VALID | EPT_QUAL_FINAL_TRANSLATION;
    expect(exits).toEqual([
      [PGDIR, walkEntry, 0], // fetch at pc 0: the guest's directory entry...
      [PGTABLE, walkEntry, 0], // ...its table entry...
      [0, EPT_QUAL_FETCH | final, 0], // ...and the code page itself
      [0x2000, EPT_QUAL_READ | final, 0x2000], // the load (its table entries are already mapped)
      [0x3000, EPT_QUAL_WRITE | final, 0x3000], // the store
    ]);
    expect(g.m.mem.i32[0x3000 >>> 2]).toBe(0x1234);
    expect(g.m.fault.vector).not.toBe(VEC_PAGE_FAULT); // nothing reached the guest
  });

  it('a TLB miss costs (2+1)(2+1) - 1 = 8 memory references, 6 of them to the nested table', () => {
    const g = eptGuest(SOURCE);
    for (const page of [PGDIR, PGTABLE, 0, 0x2000, 0x3000]) map(g, page);
    const mmu = g.m.mmu;
    expect(g.hw.run(10_000)).toBe(EXIT_HLT);
    expect(mmu.walks).toBe(3); // the code page, the load, the store
    expect(mmu.walkRefs).toBe(3 * 8);
    expect(mmu.eptRefs).toBe(3 * 6);
  });

  it('the nested table can map a guest-physical page anywhere, read-only pages exit on writes, and VPID keeps the TLB', () => {
    const g = eptGuest(SOURCE);
    for (const page of [PGDIR, PGTABLE, 0]) map(g, page);
    map(g, 0x2000, 0x200000); // guest-physical 0x2000 lives at host-physical 0x200000
    map(g, 0x3000, 0x3000, false);
    g.m.mem.i32[0x200000 >>> 2] = 0x5678;
    expect(g.hw.run(10_000)).toBe(EXIT_EPT_VIOLATION);
    expect(g.v.get(VMCS.EXIT_QUALIFICATION) & 7).toBe(EPT_QUAL_WRITE);
    expect(g.m.cpu.regs[1]).toBe(0x5678);
    // Without VPID every entry flushes the TLB; with it, translations survive the exit.
    const flushes = g.m.mmu.flushes;
    map(g, 0x3000);
    g.m.mmu.flush(); // the VMM changed a nested entry in place: it invalidates (INVEPT)
    expect(g.hw.run(10_000)).toBe(EXIT_HLT);
    expect(g.m.mmu.flushes).toBe(flushes + 2);

    const h = eptGuest(SOURCE, CPU2_ENABLE_EPT | CPU2_ENABLE_VPID);
    for (const page of [PGDIR, PGTABLE, 0, 0x2000]) map(h, page);
    expect(h.hw.run(10_000)).toBe(EXIT_EPT_VIOLATION); // the store's page
    const walks = h.m.mmu.walks;
    const f2 = h.m.mmu.flushes;
    map(h, 0x3000);
    expect(h.hw.run(10_000)).toBe(EXIT_HLT);
    expect(h.m.mmu.flushes).toBe(f2); // no flush at entry
    expect(h.m.mmu.walks).toBe(walks + 1); // only the store's page is walked again (it was never cached)
  });
});
