/**
 * Every arithmetic, logic, compare and branch instruction against an independent oracle.
 *
 * The oracle computes with BigInt and explicit two's-complement wrapping, so it shares no code (and no
 * JavaScript `| 0` tricks) with the instruction table it checks.
 */
import { describe, expect, it } from 'vitest';
import { FLAG_CF, FLAG_IF, FLAG_OF, FLAG_SF, FLAG_ZF, VEC_DIVIDE } from '../../src/isa/arch.js';
import { INSTRUCTIONS } from '../../src/isa/table.js';
import { machineWith, peek, step, stepOne, word } from '../support/machine.js';

const s32 = (x: bigint): number => Number(BigInt.asIntN(32, x));
const u32 = (x: number): bigint => BigInt(x >>> 0);
const i32 = (x: number): bigint => BigInt(x | 0);

const VALUES = [0, 1, -1, 2, 3, 7, -7, 31, 32, 33, 0x7fff, 0x8000, 0xffff, 0x10000, 0x12345678, -0x12345678, 0x7fffffff, -0x80000000];

type Oracle = (a: number, b: number) => number | 'DE';

const REG_ORACLES: Record<string, Oracle> = {
  add: (a, b) => s32(i32(a) + i32(b)),
  sub: (a, b) => s32(i32(a) - i32(b)),
  and: (a, b) => s32(u32(a) & u32(b)),
  or: (a, b) => s32(u32(a) | u32(b)),
  xor: (a, b) => s32(u32(a) ^ u32(b)),
  shl: (a, b) => s32(u32(a) << BigInt(b & 31)),
  shr: (a, b) => s32(u32(a) >> BigInt(b & 31)),
  sar: (a, b) => s32(i32(a) >> BigInt(b & 31)),
  mul: (a, b) => s32(i32(a) * i32(b)),
  div: (a, b) => (b === 0 ? 'DE' : s32(i32(a) / i32(b))),
  divu: (a, b) => (b === 0 ? 'DE' : s32(u32(a) / u32(b))),
  rem: (a, b) => (b === 0 ? 'DE' : s32(i32(a) % i32(b))),
  remu: (a, b) => (b === 0 ? 'DE' : s32(u32(a) % u32(b))),
};

const sext16 = (v: number): bigint => BigInt.asIntN(16, BigInt(v & 0xffff));
const zext16 = (v: number): bigint => BigInt(v & 0xffff);

const IMM_ORACLES: Record<string, { imm: (v: number) => number; f: (a: number, i: number) => number }> = {
  addi: { imm: (v) => Number(sext16(v)), f: (a, i) => s32(i32(a) + sext16(i)) },
  andi: { imm: (v) => v & 0xffff, f: (a, i) => s32(u32(a) & zext16(i)) },
  ori: { imm: (v) => v & 0xffff, f: (a, i) => s32(u32(a) | zext16(i)) },
  xori: { imm: (v) => v & 0xffff, f: (a, i) => s32(u32(a) ^ zext16(i)) },
  shli: { imm: (v) => v & 31, f: (a, i) => s32(u32(a) << BigInt(i & 31)) },
  shri: { imm: (v) => v & 31, f: (a, i) => s32(u32(a) >> BigInt(i & 31)) },
  sari: { imm: (v) => v & 31, f: (a, i) => s32(i32(a) >> BigInt(i & 31)) },
  muli: { imm: (v) => Number(sext16(v)), f: (a, i) => s32(i32(a) * sext16(i)) },
};

describe('ALU register-register instructions match a BigInt oracle', () => {
  for (const [name, oracle] of Object.entries(REG_ORACLES)) {
    it(`${name} on ${VALUES.length}² operand pairs (and rd aliasing rs)`, () => {
      for (const a of VALUES) {
        for (const b of VALUES) {
          const expected = oracle(a, b);
          const m = stepOne(word(name, { rd: 3, rs: 1, rt: 2 }), { regs: { 1: a, 2: b } });
          if (expected === 'DE') {
            expect(m.trapped, `${name} ${a}, ${b} faults`).toBe(true);
            expect(m.fault.vector).toBe(VEC_DIVIDE);
            expect(m.cpu.pc).toBe(0x1000); // a fault does not advance pc
            expect(m.retired).toBe(0); // ... and does not retire
            expect(m.cpu.regs[3]).toBe(0); // ... and writes nothing
          } else {
            expect(m.cpu.regs[3], `${name} ${a}, ${b}`).toBe(expected);
            expect(m.cpu.pc).toBe(0x1004);
            expect(m.retired).toBe(1);
          }
        }
        // Destination equal to a source: the operands are read before the write.
        const e2 = oracle(a, 7);
        if (e2 !== 'DE') expect(stepOne(word(name, { rd: 1, rs: 1, rt: 2 }), { regs: { 1: a, 2: 7 } }).cpu.regs[1]).toBe(e2);
      }
    });
  }
});

describe('ALU immediate instructions match a BigInt oracle', () => {
  const imms = [0, 1, 5, 31, 0x7fff, 0x8000, 0xffff, 0x1234];
  for (const [name, o] of Object.entries(IMM_ORACLES)) {
    it(`${name} sign/zero-extends its immediate correctly`, () => {
      for (const a of VALUES) {
        for (const raw of imms) {
          const imm = o.imm(raw);
          const m = stepOne(word(name, { rd: 4, rs: 1, imm }), { regs: { 1: a } });
          expect(m.cpu.regs[4], `${name} ${a}, ${imm}`).toBe(o.f(a, imm));
        }
      }
    });
  }
  it('movi sign-extends, lui shifts by 16, mov/not/neg', () => {
    expect(stepOne(word('movi', { rd: 2, imm: -5 })).cpu.regs[2]).toBe(-5);
    expect(stepOne(word('movi', { rd: 2, imm: 0x7fff })).cpu.regs[2]).toBe(0x7fff);
    expect(stepOne(word('lui', { rd: 2, imm: 0xdead })).cpu.regs[2]).toBe(s32(0xdead0000n));
    for (const a of VALUES) {
      expect(stepOne(word('mov', { rd: 5, rs: 1 }), { regs: { 1: a } }).cpu.regs[5]).toBe(a | 0);
      expect(stepOne(word('not', { rd: 5, rs: 1 }), { regs: { 1: a } }).cpu.regs[5]).toBe(s32(~i32(a)));
      expect(stepOne(word('neg', { rd: 5, rs: 1 }), { regs: { 1: a } }).cpu.regs[5]).toBe(s32(-i32(a)));
    }
  });
  it('lui followed by ori builds any 32-bit constant (what the li pseudo-instruction emits)', () => {
    for (const v of VALUES) {
      const m = stepOne(word('lui', { rd: 1, imm: (v >>> 16) & 0xffff }), { then: [word('ori', { rd: 1, rs: 1, imm: v & 0xffff })] });
      m.exec(m, 1);
      expect(m.cpu.regs[1]).toBe(v | 0);
    }
  });
});

/** Flags of a - b computed from the mathematical values (independent of the lazy-flags implementation). */
function oracleFlags(a: number, b: number): number {
  const sa = i32(a);
  const sb = i32(b);
  const diff = sa - sb;
  const wrapped = BigInt.asIntN(32, diff);
  return (
    (u32(a) < u32(b) ? FLAG_CF : 0) |
    (wrapped === 0n ? FLAG_ZF : 0) |
    (wrapped < 0n ? FLAG_SF : 0) |
    (diff !== wrapped ? FLAG_OF : 0)
  );
}

const CONDITIONS: Record<string, (a: bigint, b: bigint, ua: bigint, ub: bigint) => boolean> = {
  beq: (a, b) => a === b,
  bne: (a, b) => a !== b,
  blt: (a, b) => a < b,
  bge: (a, b) => a >= b,
  bgt: (a, b) => a > b,
  ble: (a, b) => a <= b,
  bltu: (_a, _b, ua, ub) => ua < ub,
  bgeu: (_a, _b, ua, ub) => ua >= ub,
  bgtu: (_a, _b, ua, ub) => ua > ub,
  bleu: (_a, _b, ua, ub) => ua <= ub,
};

describe('compare, test and conditional branches', () => {
  it('cmp then pushf materializes CF, ZF, SF, OF exactly as the oracle (IF included)', () => {
    for (const a of VALUES) {
      for (const b of VALUES) {
        for (const iflag of [0, 1] as const) {
          const m = stepOne(word('cmp', { rs: 1, rt: 2 }), { regs: { 1: a, 2: b }, iflag, then: [word('pushf')] });
          m.exec(m, 1);
          expect(peek(m, m.cpu.regs[15]), `flags of ${a} - ${b}`).toBe(oracleFlags(a, b) | (iflag ? FLAG_IF : 0));
        }
      }
    }
  });

  for (const [name, holds] of Object.entries(CONDITIONS)) {
    it(`${name} is taken exactly when the condition holds, after cmp and after popf-restored flags`, () => {
      for (const a of VALUES) {
        for (const b of VALUES) {
          const taken = holds(i32(a), i32(b), u32(a), u32(b));
          // Lazy flags straight from cmp.
          const m = stepOne(word('cmp', { rs: 1, rt: 2 }), { regs: { 1: a, 2: b }, then: [word(name, { imm: 10 })] });
          m.exec(m, 1);
          expect(m.cpu.pc, `${name} after cmp ${a}, ${b}`).toBe(taken ? 0x1008 + 40 : 0x1008);
          // Explicit flags: the same bits restored by popf must give the same decision.
          const m2 = machineWith([word('popf'), word(name, { imm: -2 })], {
            setup: (mm) => (mm.mem.i32[0x8000 >> 2] = oracleFlags(a, b)),
          });
          step(m2, 2);
          expect(m2.cpu.pc, `${name} after popf of flags(${a} - ${b})`).toBe(taken ? 0x1008 - 8 : 0x1008);
        }
      }
    });
  }

  it('cmpi compares with a sign-extended immediate; tst/tsti set ZF/SF from the AND and clear CF/OF', () => {
    const m = stepOne(word('cmpi', { rs: 1, imm: -1 }), { regs: { 1: -1 }, then: [word('beq', { imm: 5 })] });
    m.exec(m, 1);
    expect(m.cpu.pc).toBe(0x1008 + 20);
    for (const [a, b] of [
      [0xf0, 0x0f],
      [-1, 0x80000000],
      [6, 3],
    ]) {
      const t = stepOne(word('tst', { rs: 1, rt: 2 }), { regs: { 1: a, 2: b }, then: [word('pushf')] });
      t.exec(t, 1);
      const and = s32(u32(a) & u32(b));
      expect(peek(t, t.cpu.regs[15])).toBe((and === 0 ? FLAG_ZF : 0) | (and < 0 ? FLAG_SF : 0));
    }
    const ti = stepOne(word('tsti', { rs: 1, imm: 0x8000 }), { regs: { 1: 0x18000 }, then: [word('bne', { imm: 1 })] });
    ti.exec(ti, 1);
    expect(ti.cpu.pc).toBe(0x100c);
  });

  it('no arithmetic instruction changes the condition flags', () => {
    const alu = INSTRUCTIONS.filter((d) => d.operands[0] === 'rd' && d.opcode < 0x20);
    for (const d of alu) {
      const has = (k: string) => (d.operands as readonly string[]).includes(k);
      const fields = { rd: 3, rs: has('rs') ? 3 : undefined, rt: has('rt') ? 3 : undefined, imm: d.imm ? 1 : undefined };
      const m = stepOne(word('cmp', { rs: 1, rt: 2 }), {
        regs: { 1: 5, 2: 5, 3: 9 },
        then: [word(d.name, fields), word('beq', { imm: 3 })],
      });
      m.exec(m, 2);
      expect(m.cpu.pc, `${d.name} kept ZF`).toBe(0x100c + 12);
    }
  });
});
