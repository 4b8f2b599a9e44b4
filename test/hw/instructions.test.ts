/**
 * Memory, stack, control-flow and system instructions, one instruction at a time. Exceptions are routed out
 * of the run loop ('monitor'), so each test sees exactly which exception an instruction raised.
 */
import { describe, expect, it } from 'vitest';
import {
  CR_PTBR,
  CR_TPR,
  FLAG_CF,
  FLAG_IF,
  FLAG_ZF,
  MODE_SUPERVISOR,
  MODE_USER,
  VEC_ALIGNMENT,
  VEC_INVALID_OPCODE,
  VEC_PRIVILEGE,
  VEC_SYSCALL,
} from '../../src/isa/arch.js';
import { INSTRUCTIONS, isPrivileged } from '../../src/isa/table.js';
import { EXEC_LIMIT } from '../../src/hw/interp.js';
import { IRQ_TIMER } from '../../src/hw/machine.js';
import { machineWith, peek, step, stepOne, word } from '../support/machine.js';

describe('loads and stores', () => {
  it('ldw/stw use rs + sign-extended displacement; ldb zero-extends; stb writes one byte', () => {
    const m = machineWith([word('stw', { rd: 1, rs: 2, imm: -8 }), word('ldw', { rd: 3, rs: 2, imm: -8 }), word('stb', { rd: 4, rs: 2, imm: 1 }), word('ldb', { rd: 5, rs: 2, imm: 1 })], {
      regs: { 1: 0xcafe1234 | 0, 2: 0x2010, 4: 0x1ff },
    });
    step(m, 4);
    expect(peek(m, 0x2008)).toBe(0xcafe1234 | 0);
    expect(m.cpu.regs[3]).toBe(0xcafe1234 | 0);
    expect(m.mem.u8[0x2011]).toBe(0xff);
    expect(m.mem.u8[0x2012]).toBe(0); // only one byte written
    expect(m.cpu.regs[5]).toBe(0xff); // zero-extended
  });

  it('a misaligned word access raises #AC without side effects; byte accesses may be misaligned', () => {
    for (const name of ['ldw', 'stw']) {
      const m = stepOne(word(name, { rd: 1, rs: 2, imm: 2 }), { regs: { 1: 77, 2: 0x2000 } });
      expect(m.trapped).toBe(true);
      expect(m.fault.vector).toBe(VEC_ALIGNMENT);
      expect(m.cpu.regs[1]).toBe(77);
      expect(peek(m, 0x2000)).toBe(0);
    }
    expect(stepOne(word('ldb', { rd: 1, rs: 2, imm: 3 }), { regs: { 2: 0x2000 } }).trapped).toBe(false);
  });

  it('an access beyond physical memory stops the machine with a machine check naming the address', () => {
    const m = stepOne(word('ldw', { rd: 1, rs: 2 }), { regs: { 2: 0x7ffff000 } });
    expect(m.status).toBe('machine-check');
    expect(m.statusMessage).toContain('0x7ffff000');
  });
});

describe('stack instructions', () => {
  it('push decrements sp then stores; push sp stores the old sp', () => {
    const m = stepOne(word('push', { rs: 15 }), { regs: { 15: 0x8000 } });
    expect(m.cpu.regs[15]).toBe(0x7ffc);
    expect(peek(m, 0x7ffc)).toBe(0x8000);
  });
  it('pop loads then increments sp; pop sp loads the popped value', () => {
    const m = stepOne(word('pop', { rd: 15 }), { regs: { 15: 0x8000 }, setup: (mm) => (mm.mem.i32[0x8000 >> 2] = 0x4444) });
    expect(m.cpu.regs[15]).toBe(0x4444);
    const m2 = stepOne(word('pop', { rd: 3 }), { regs: { 15: 0x8000 }, setup: (mm) => (mm.mem.i32[0x8000 >> 2] = 99) });
    expect(m2.cpu.regs[3]).toBe(99);
    expect(m2.cpu.regs[15]).toBe(0x8004);
  });
  it('a faulting push or pop leaves sp unchanged', () => {
    const m = stepOne(word('push', { rs: 1 }), { regs: { 15: 0x8002 } });
    expect(m.fault.vector).toBe(VEC_ALIGNMENT);
    expect(m.cpu.regs[15]).toBe(0x8002);
    const m2 = stepOne(word('pop', { rd: 1 }), { regs: { 15: 0x8002 } });
    expect(m2.cpu.regs[15]).toBe(0x8002);
  });
});

describe('control flow', () => {
  it('jmp/call use a word offset from the next instruction; call pushes the return address; ret pops it', () => {
    const j = stepOne(word('jmp', { imm: -2 }));
    expect(j.cpu.pc).toBe(0x1000 + 4 - 8);
    const c = stepOne(word('call', { imm: 5 }), { regs: { 15: 0x8000 } });
    expect(c.cpu.pc).toBe(0x1004 + 20);
    expect(peek(c, 0x7ffc)).toBe(0x1004);
    const r = stepOne(word('ret'), { regs: { 15: 0x7ffc }, setup: (mm) => (mm.mem.i32[0x7ffc >> 2] = 0x3000) });
    expect(r.cpu.pc).toBe(0x3000);
    expect(r.cpu.regs[15]).toBe(0x8000);
  });
  it('jmpr and callr jump to a register; callr sp jumps to the old sp', () => {
    expect(stepOne(word('jmpr', { rs: 4 }), { regs: { 4: 0x2220 } }).cpu.pc).toBe(0x2220);
    const c = stepOne(word('callr', { rs: 15 }), { regs: { 15: 0x8000 } });
    expect(c.cpu.pc).toBe(0x8000);
    expect(peek(c, 0x7ffc)).toBe(0x1004);
  });
  it('fetching from a misaligned pc raises #AC at that pc', () => {
    const m = machineWith([word('jmpr', { rs: 4 })], { regs: { 4: 0x2222 } });
    step(m, 2);
    expect(m.trapped).toBe(true);
    expect(m.fault.vector).toBe(VEC_ALIGNMENT);
    expect(m.cpu.pc).toBe(0x2222);
  });
  it('undefined opcodes (0x00, 0xff and every gap in the table) raise #UD without retiring', () => {
    const defined = new Set(INSTRUCTIONS.map((d) => d.opcode));
    for (let op = 0; op < 256; op++) {
      if (defined.has(op)) continue;
      const m = stepOne((op << 24) | 0);
      expect(m.fault.vector, `opcode 0x${op.toString(16)}`).toBe(VEC_INVALID_OPCODE);
      expect(m.cpu.pc).toBe(0x1000);
      expect(m.retired).toBe(0);
    }
  });
});

describe('privilege', () => {
  for (const variant of ['default', 'classic'] as const) {
    const privileged = INSTRUCTIONS.filter((d) => isPrivileged(d, variant));
    it(`every privileged instruction (${variant} ISA: ${privileged.map((d) => d.name).join(' ')}) raises #GP in user mode and changes nothing`, () => {
      for (const d of privileged) {
        const m = stepOne(word(d.name, { rd: 1, rs: 2, imm: d.imm ? 0x20 : undefined }), {
          mode: MODE_USER,
          iflag: 1,
          isa: variant,
          regs: { 1: 5, 2: 0x40 },
        });
        expect(m.trapped, d.name).toBe(true);
        expect(m.fault.vector, d.name).toBe(VEC_PRIVILEGE);
        expect(m.cpu.pc, d.name).toBe(0x1000);
        expect(m.retired, d.name).toBe(0);
        expect([m.cpu.regs[1], m.cpu.regs[2], m.cpu.regs[15], m.cpu.iflag, m.cpu.mode], d.name).toEqual([5, 0x40, 0x8000, 1, MODE_USER]);
      }
    });
  }
  it('the classic variant makes exactly pushf, popf and rdmode privileged in addition', () => {
    const extra = INSTRUCTIONS.filter((d) => isPrivileged(d, 'classic') && !isPrivileged(d, 'default')).map((d) => d.name);
    expect(extra.sort()).toEqual(['popf', 'pushf', 'rdmode']);
  });
  it('syscall retires and then traps to vector 0x80 in both modes; vmcall raises #UD on bare metal', () => {
    for (const mode of [MODE_SUPERVISOR, MODE_USER] as const) {
      const s = stepOne(word('syscall'), { mode });
      expect([s.fault.vector, s.cpu.pc, s.retired]).toEqual([VEC_SYSCALL, 0x1004, 1]);
      const v = stepOne(word('vmcall'), { mode });
      expect([v.fault.vector, v.cpu.pc, v.retired]).toEqual([VEC_INVALID_OPCODE, 0x1000, 0]);
    }
  });
  it('mtcr/mfcr with an undefined control register raise #UD', () => {
    for (const n of [6, 7, 9, 15]) {
      expect(stepOne(word('mtcr', { rd: n, rs: 1 })).fault.vector).toBe(VEC_INVALID_OPCODE);
      expect(stepOne(word('mfcr', { rd: 1, rs: n })).fault.vector).toBe(VEC_INVALID_OPCODE);
    }
  });
  it('cli/sti change IF in supervisor mode; mtcr ptbr flushes the TLB; mtcr tpr keeps 4 bits', () => {
    expect(stepOne(word('cli'), { iflag: 1 }).cpu.iflag).toBe(0);
    expect(stepOne(word('sti')).cpu.iflag).toBe(1);
    const m = stepOne(word('mtcr', { rd: CR_PTBR, rs: 1 }), { regs: { 1: 0x5000 } });
    expect(m.cpu.cr[CR_PTBR]).toBe(0x5000);
    expect(m.mmu.flushes).toBe(1);
    expect(stepOne(word('mtcr', { rd: CR_TPR, rs: 1 }), { regs: { 1: 0x37 } }).cpu.cr[CR_TPR]).toBe(7);
  });
});

describe('the popf problem: sensitive but not privileged', () => {
  const popfWith = (value: number, mode: 0 | 1, iflag: 0 | 1, isa: 'default' | 'classic' = 'default') =>
    stepOne(word('popf'), { mode, iflag, isa, setup: (m) => (m.mem.i32[0x8000 >> 2] = value) });

  it('in user mode popf leaves IF unchanged in both directions, without trapping, but writes the condition flags', () => {
    const on = popfWith(FLAG_ZF | FLAG_CF, MODE_USER, 1); // tries to clear IF
    expect([on.trapped, on.cpu.iflag, on.cpu.flags() & ~FLAG_IF, on.cpu.pc, on.retired]).toEqual([false, 1, FLAG_ZF | FLAG_CF, 0x1004, 1]);
    const off = popfWith(FLAG_IF, MODE_USER, 0); // tries to set IF
    expect([off.trapped, off.cpu.iflag]).toEqual([false, 0]);
    expect(off.sensitiveInUser).toBe(1); // the fidelity oracle saw it
  });
  it('in supervisor mode popf writes IF', () => {
    expect(popfWith(FLAG_IF, MODE_SUPERVISOR, 0).cpu.iflag).toBe(1);
    expect(popfWith(0, MODE_SUPERVISOR, 1).cpu.iflag).toBe(0);
  });
  it('on the classic ISA popf in user mode raises #GP instead', () => {
    const m = popfWith(FLAG_IF, MODE_USER, 0, 'classic');
    expect([m.trapped, m.fault.vector, m.cpu.iflag, m.cpu.regs[15]]).toEqual([true, VEC_PRIVILEGE, 0, 0x8000]);
  });
  it('pushf in user mode pushes the real IF; rdmode reveals the mode; both unprivileged on the default ISA', () => {
    const p = stepOne(word('pushf'), { mode: MODE_USER, iflag: 1 });
    expect([p.trapped, peek(p, 0x7ffc) & FLAG_IF]).toEqual([false, FLAG_IF]);
    expect(stepOne(word('rdmode', { rd: 2 }), { mode: MODE_USER }).cpu.regs[2]).toBe(1);
    expect(stepOne(word('rdmode', { rd: 2 }), { mode: MODE_SUPERVISOR }).cpu.regs[2]).toBe(0);
  });
  it('the sensitive-instruction hook reports the pc and what popf tried to do', () => {
    const seen: number[][] = [];
    stepOne(word('popf'), {
      mode: MODE_USER,
      setup: (m) => {
        m.mem.i32[0x8000 >> 2] = FLAG_IF;
        m.onSensitive = (pc, op, detail, clock) => seen.push([pc, op, detail, clock]);
      },
    });
    expect(seen).toEqual([[0x1000, 0x4c, FLAG_IF, 0]]);
  });
});

describe('interrupt enabling', () => {
  it('sti with an interrupt pending runs one more instruction (the interrupt shadow), then returns to the run loop', () => {
    const m = machineWith([word('sti'), word('nop'), word('nop')]);
    m.irqPending = IRQ_TIMER;
    const res = m.exec(m, 100);
    expect(res).toBe(EXEC_LIMIT);
    expect([m.cpu.pc, m.retired]).toEqual([0x1008, 2]);
    expect(m.shadowEnd).toBe(2); // clock after sti (1) plus the shadowed instruction
  });
  it('sti when IF is already set has no shadow', () => {
    const m = machineWith([word('sti'), word('nop')], { iflag: 1 });
    m.exec(m, 1);
    expect(m.shadowEnd).toBe(0);
  });
  it('popf that sets IF in supervisor mode also returns to the run loop when an interrupt waits', () => {
    const m = machineWith([word('popf'), word('nop')], { setup: (mm) => (mm.mem.i32[0x8000 >> 2] = FLAG_IF) });
    m.irqPending = IRQ_TIMER;
    m.exec(m, 100);
    expect([m.cpu.pc, m.retired, m.cpu.iflag]).toEqual([0x1004, 1, 1]);
  });
});
