/**
 * Disassembler: instruction word (and its address) → assembly text the assembler accepts again.
 * Driven entirely by the instruction table's operand lists.
 */
import { CR_NAMES, SP, FP } from './arch.js';
import { decode, encode, type InsnFields } from './encoding.js';

export function regName(n: number): string {
  if (n === SP) return 'sp';
  if (n === FP) return 'fp';
  return `r${n}`;
}

export function crName(n: number): string {
  return CR_NAMES[n] ?? `cr${n}`;
}

const hex = (v: number): string => `0x${(v >>> 0).toString(16)}`;

/** The fields an instruction's operands use (so unused bits are left out when re-encoding). */
function usedFields(word: number): InsnFields | null {
  const d = decode(word);
  if (!d.def) return null;
  const f: InsnFields = {};
  for (const k of d.def.operands) {
    if (k === 'rd' || k === 'crd') f.rd = d.rd;
    else if (k === 'rs' || k === 'crs') f.rs = d.rs;
    else if (k === 'rt') f.rt = d.rt;
    else if (k === 'mem') {
      f.rs = d.rs;
      f.imm = d.imm;
    } else f.imm = d.imm;
  }
  return f;
}

/** True when `word` is exactly what the assembler produces for some instruction (unused bits zero). */
export function isCanonical(word: number): boolean {
  const d = decode(word);
  const f = usedFields(word);
  return d.def !== undefined && f !== null && encode(d.def, f) === (word | 0);
}

/**
 * Disassemble one word at `address`. Undefined opcodes, and words whose unused bits are not zero (data that
 * happens to look like an instruction), come out as `.word 0x…`, so the text always assembles back to `word`.
 */
export function disassemble(word: number, address: number): string {
  const d = decode(word);
  if (!d.def || !isCanonical(word)) return `.word ${hex(word)}`;
  const ops = d.def.operands.map((k) => {
    switch (k) {
      case 'rd':
        return regName(d.rd);
      case 'rs':
        return regName(d.rs);
      case 'rt':
        return regName(d.rt);
      case 'crd':
        return crName(d.rd);
      case 'crs':
        return crName(d.rs);
      case 'imm':
        return d.def?.imm === 'u16' ? hex(d.imm) : String(d.imm);
      case 'port':
        return hex(d.imm);
      case 'mem':
        return d.imm === 0
          ? `[${regName(d.rs)}]`
          : `[${regName(d.rs)} ${d.imm < 0 ? '-' : '+'} ${Math.abs(d.imm)}]`;
      case 'target':
        return hex((address + 4 + d.imm * 4) | 0);
    }
  });
  return ops.length ? `${d.def.name} ${ops.join(', ')}` : d.def.name;
}

export interface DisasmLine {
  readonly address: number;
  readonly word: number;
  readonly text: string;
}

/** Disassemble `count` words of an image starting at byte offset `start` (little-endian words). */
export function disassembleImage(image: Uint8Array, start = 0, count = Math.floor((image.length - start) / 4), base = 0): DisasmLine[] {
  const dv = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const out: DisasmLine[] = [];
  for (let i = 0; i < count; i++) {
    const off = start + i * 4;
    if (off + 4 > image.length) break;
    const word = dv.getInt32(off, true);
    out.push({ address: base + off, word, text: disassemble(word, base + off) });
  }
  return out;
}
