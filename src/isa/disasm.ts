/**
 * Disassembler: instruction word (and its address) → assembly text the assembler accepts again.
 * Driven entirely by the instruction table's operand lists.
 */
import { CR_NAMES, SP, FP } from './arch.js';
import { decode } from './encoding.js';

export function regName(n: number): string {
  if (n === SP) return 'sp';
  if (n === FP) return 'fp';
  return `r${n}`;
}

export function crName(n: number): string {
  return CR_NAMES[n] ?? `cr${n}`;
}

const hex = (v: number): string => `0x${(v >>> 0).toString(16)}`;

/** Disassemble one word at `address`. Undefined opcodes come out as `.word 0x…`. */
export function disassemble(word: number, address: number): string {
  const d = decode(word);
  if (!d.def) return `.word ${hex(word)}`;
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
