/**
 * Assembler ⇄ disassembler round trips over the whole instruction table.
 *
 * The instruction text is built here from each entry's operand kinds (not from the assembler's own
 * helpers), so a wrong operand order, field or offset computation in the assembler shows up as a
 * mismatch against `encode` or against the disassembler.
 */
import { describe, expect, it } from 'vitest';
import { rng, randInt } from '../support/rng.js';
import { assemble, formatError, type AssembleResult } from '../../src/asm/index.js';
import { disassemble } from '../../src/isa/disasm.js';
import { encode, immRange, type InsnFields } from '../../src/isa/encoding.js';
import { INSTRUCTIONS, type InsnDef, type OperandKind } from '../../src/isa/table.js';


function wordAt(res: AssembleResult, address: number): number {
  const b = res.image;
  return (b[address] | (b[address + 1] << 8) | (b[address + 2] << 16) | (b[address + 3] << 24)) | 0;
}

function mustAssemble(src: string): AssembleResult {
  const res = assemble(src, 'rt.s');
  if (!res.ok) throw new Error(`assembly failed:\n${res.errors.map(formatError).join('\n')}\n--- source:\n${src}`);
  return res;
}

const ORIGIN = 0x1000;

/** A representative operand text for each kind, and the instruction fields it stands for. */
function representative(def: InsnDef): { text: string; fields: InsnFields } {
  const fields: InsnFields = {};
  const ops = def.operands.map((k: OperandKind) => {
    switch (k) {
      case 'rd':
        fields.rd = 1;
        return 'r1';
      case 'rs':
        fields.rs = 2;
        return 'r2';
      case 'rt':
        fields.rt = 3;
        return 'r3';
      case 'crd':
        fields.rd = 3;
        return 'ptbr';
      case 'crs':
        fields.rs = 2;
        return 'cr2';
      case 'imm': {
        const [, hi] = immRange(def.imm ?? 's16');
        fields.imm = hi;
        return String(hi);
      }
      case 'port':
        fields.imm = 0x10;
        return '0x10';
      case 'mem':
        fields.rs = 4;
        fields.imm = -8;
        return '[r4 - 8]';
      case 'target':
        // 0x40 bytes back from the instruction at ORIGIN: offset (0xfc0 - 0x1004) / 4 = -17 words.
        fields.imm = -17;
        return '0xfc0';
    }
  });
  return { text: ops.length ? `${def.name} ${ops.join(', ')}` : def.name, fields };
}

describe('table-driven round trip', () => {
  it('covers every table entry (the table is not empty and mnemonics are unique)', () => {
    expect(INSTRUCTIONS.length).toBeGreaterThan(40);
    expect(new Set(INSTRUCTIONS.map((d) => d.name)).size).toBe(INSTRUCTIONS.length);
  });

  for (const def of INSTRUCTIONS) {
    it(`${def.name}: text from its operand kinds assembles to encode(), disassembles and reassembles identically`, () => {
      const { text, fields } = representative(def);
      const first = mustAssemble(`.org ${ORIGIN}\n${text}`);
      const word = wordAt(first, ORIGIN);
      expect(word).toBe(encode(def, fields));
      expect(first.image.length).toBe(ORIGIN + 4);

      const back = disassemble(word, ORIGIN);
      expect(back.split(/\s/)[0]).toBe(def.name);
      const second = mustAssemble(`.org ${ORIGIN}\n${back}`);
      expect(wordAt(second, ORIGIN)).toBe(word);

      // Mnemonics and register names are case-insensitive.
      const upper = mustAssemble(`.org ${ORIGIN}\n${back.toUpperCase()}`);
      expect(wordAt(upper, ORIGIN)).toBe(word);
    });
  }
});

/** Random fields for the operand kinds of `def` (only the fields its operands use). */
function randomFields(def: InsnDef, r: () => number): InsnFields {
  const f: InsnFields = {};
  for (const k of def.operands) {
    switch (k) {
      case 'rd':
      case 'crd':
        f.rd = randInt(r, 0, 15);
        break;
      case 'rs':
      case 'crs':
        f.rs = randInt(r, 0, 15);
        break;
      case 'rt':
        f.rt = randInt(r, 0, 15);
        break;
      case 'mem':
        f.rs = randInt(r, 0, 15);
        break;
      default:
        break;
    }
    if (k === 'imm' || k === 'port' || k === 'mem' || k === 'target') {
      const [lo, hi] = immRange(def.imm ?? 'u16');
      // Bias towards the edges of the range, where off-by-one and sign mistakes live.
      const pick = r();
      f.imm = pick < 0.15 ? lo : pick < 0.3 ? hi : pick < 0.4 ? 0 : randInt(r, lo, hi);
    }
  }
  return f;
}

describe('random field values over all entries (seeded)', () => {
  it('disassemble → assemble reproduces every word, at random addresses', () => {
    const r = rng(0x5eed);
    let checked = 0;
    for (let round = 0; round < 12; round++) {
      for (const def of INSTRUCTIONS) {
        const base = randInt(r, 0, 0x40000) * 4;
        const words: number[] = [];
        for (let i = 0; i < 24; i++) words.push(encode(def, randomFields(def, r)));
        const lines = words.map((w, i) => disassemble(w, base + 4 * i));
        const res = mustAssemble(`.org ${base}\n${lines.join('\n')}`);
        words.forEach((w, i) => {
          const got = wordAt(res, base + 4 * i);
          if (got !== w) throw new Error(`${lines[i]} at 0x${(base + 4 * i).toString(16)}: got 0x${(got >>> 0).toString(16)}, want 0x${(w >>> 0).toString(16)}`);
        });
        checked += words.length;
      }
    }
    expect(checked).toBe(12 * 24 * INSTRUCTIONS.length);
  });

  it('u16 immediates accept the negative spelling of the same bit pattern, as encode does', () => {
    for (const def of INSTRUCTIONS.filter((d) => d.imm === 'u16' && d.operands.includes('imm'))) {
      const ops = def.operands.map((k) => (k === 'imm' ? '-1' : k === 'rd' ? 'r1' : 'r2'));
      const res = mustAssemble(`${def.name} ${ops.join(', ')}`);
      const fields: InsnFields = { imm: -1 };
      def.operands.forEach((k) => {
        if (k === 'rd') fields.rd = 1;
        if (k === 'rs') fields.rs = 2;
      });
      expect(wordAt(res, 0)).toBe(encode(def, fields));
    }
  });

  it('branch targets at the extremes of off24 round-trip, including ones that wrap below address 0', () => {
    const branches = INSTRUCTIONS.filter((d) => d.operands.includes('target'));
    expect(branches.length).toBeGreaterThan(0);
    for (const def of branches) {
      const [lo, hi] = immRange(def.imm ?? 'off24');
      for (const imm of [lo, hi, -1, 0, 1]) {
        const word = encode(def, { imm });
        const text = disassemble(word, 0x100);
        const res = mustAssemble(`.org 0x100\n${text}`);
        expect(wordAt(res, 0x100)).toBe(word);
      }
    }
  });
});
