/**
 * The 32-bit instruction word, derived from the instruction table.
 *
 *   31      24 23   20 19   16 15   12 11                0
 *  +----------+-------+-------+-------+-------------------+
 *  |  opcode  |  rd   |  rs   |  rt   |                   |   register forms
 *  |  opcode  |  rd   |  rs   |        imm16              |   immediate / memory / port forms
 *  |  opcode  |              off24 (signed words)         |   jmp, call, branches
 *  +----------+-------+-------+-------+-------------------+
 *
 * Bits an instruction does not use must be zero; the hardware ignores them.
 */
import { INSTRUCTIONS, insnByOpcode, type ImmKind, type InsnDef, type OperandKind } from './table.js';

export const fieldRd = (w: number): number => (w >>> 20) & 15;
export const fieldRs = (w: number): number => (w >>> 16) & 15;
export const fieldRt = (w: number): number => (w >>> 12) & 15;
export const fieldOpcode = (w: number): number => w >>> 24;

/** The immediate of `w` read as `kind`, as a JavaScript number (signed where the kind is signed). */
export function immOf(w: number, kind: ImmKind): number {
  switch (kind) {
    case 's16':
      return (w << 16) >> 16;
    case 'u16':
      return w & 0xffff;
    case 'u5':
      return w & 31;
    case 'off24':
      return (w << 8) >> 8;
  }
}

/** Inclusive range of values an immediate kind can encode. */
export function immRange(kind: ImmKind): readonly [number, number] {
  switch (kind) {
    case 's16':
      return [-0x8000, 0x7fff];
    case 'u16':
      return [0, 0xffff];
    case 'u5':
      return [0, 31];
    case 'off24':
      return [-0x800000, 0x7fffff];
  }
}

export interface DecodedInsn {
  readonly word: number;
  readonly def: InsnDef | undefined;
  readonly rd: number;
  readonly rs: number;
  readonly rt: number;
  /** The immediate per the entry's kind (0 when it has none). For off24 it is the word offset. */
  readonly imm: number;
}

export function decode(word: number): DecodedInsn {
  const def = insnByOpcode(fieldOpcode(word));
  return {
    word: word | 0,
    def,
    rd: fieldRd(word),
    rs: fieldRs(word),
    rt: fieldRt(word),
    imm: def?.imm ? immOf(word, def.imm) : 0,
  };
}

export interface InsnFields {
  rd?: number;
  rs?: number;
  rt?: number;
  /** Immediate in the entry's kind; for off24 the word offset from the next instruction. */
  imm?: number;
}

/** Encode an instruction. Throws RangeError when a field does not fit (the assembler checks first). */
export function encode(def: InsnDef, f: InsnFields): number {
  let w = (def.opcode << 24) | 0;
  const reg = (v: number | undefined, shift: number, name: string) => {
    const x = v ?? 0;
    if (!Number.isInteger(x) || x < 0 || x > 15) throw new RangeError(`${def.name}: ${name} ${x} is not 0..15`);
    w |= x << shift;
  };
  reg(f.rd, 20, 'rd');
  reg(f.rs, 16, 'rs');
  reg(f.rt, 12, 'rt');
  if (def.imm) {
    const x = f.imm ?? 0;
    const [lo, hi] = immRange(def.imm);
    // Unsigned 16-bit fields also accept the negative spelling of the same bit pattern (e.g. andi r1, r1, -1).
    const okU16Negative = def.imm === 'u16' && x >= -0x8000 && x < 0;
    if (!Number.isInteger(x) || ((x < lo || x > hi) && !okU16Negative)) {
      throw new RangeError(`${def.name}: immediate ${x} is outside ${lo}..${hi}`);
    }
    w |= def.imm === 'off24' ? x & 0xffffff : def.imm === 'u5' ? x & 31 : x & 0xffff;
  }
  return w | 0;
}

/** Which word fields an operand kind occupies (used to validate the table). */
function fieldsOf(k: OperandKind): string[] {
  switch (k) {
    case 'rd':
    case 'crd':
      return ['rd'];
    case 'rs':
    case 'crs':
      return ['rs'];
    case 'rt':
      return ['rt', 'imm16'];
    case 'imm':
    case 'port':
      return ['imm16'];
    case 'mem':
      return ['rs', 'imm16'];
    case 'target':
      return ['rd', 'rs', 'rt', 'imm16'];
  }
}

// Validate the table once: operands must not overlap and immediates must have a kind.
for (const d of INSTRUCTIONS) {
  const used = new Set<string>();
  for (const k of d.operands) {
    for (const f of fieldsOf(k)) {
      if (used.has(f)) throw new Error(`instruction table: operands of ${d.name} overlap in field ${f}`);
      used.add(f);
    }
  }
  const needsImm = d.operands.some((k) => k === 'imm' || k === 'port' || k === 'mem' || k === 'target');
  if (needsImm !== (d.imm !== undefined)) throw new Error(`instruction table: ${d.name} has a wrong imm kind`);
}
