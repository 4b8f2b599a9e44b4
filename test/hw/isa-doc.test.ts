/**
 * docs/isa.md is what a student writes programs from, so its instruction tables must say what the instruction
 * table (src/isa/table.ts) says: every instruction documented once, with its opcode, and each system
 * instruction with its class on the default ISA. A row documents one or more instructions (`and` / `or` / `xor`)
 * with one opcode each, written as a list (0x35 / 0x36) or a range (0x03–0x05).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { assemble, formatError } from '../../src/asm/index.js';
import { FLAG_IF, PORT_POWER, PTE_FRAME_MASK, VEC_PAGE_FAULT } from '../../src/isa/arch.js';
import { constantsInclude } from '../../src/isa/constants-inc.js';
import { declaredClass, INSTRUCTIONS } from '../../src/isa/table.js';

const doc = readFileSync(new URL('../../docs/isa.md', import.meta.url), 'utf8');
const section3 = doc.slice(doc.indexOf('## 3. Instructions'), doc.indexOf('## 4. '));

interface Row {
  names: string[];
  opcodes: number[];
  cls: string | null;
}

function opcodesOf(cell: string): number[] {
  const range = /^0x([0-9a-f]+)–0x([0-9a-f]+)$/.exec(cell);
  if (range) {
    const out: number[] = [];
    for (let op = parseInt(range[1], 16); op <= parseInt(range[2], 16); op++) out.push(op);
    return out;
  }
  return cell.split('/').map((x) => parseInt(x.trim(), 16));
}

/** The rows of section 3's tables that document instructions (the `li` pseudo-instruction has no opcode). */
const rows: Row[] = section3
  .split('\n')
  .filter((line) => line.startsWith('| `') && !line.includes('| — |'))
  .map((line) => {
    const cells = line.split('|').map((c) => c.trim());
    const names = [...cells[1].matchAll(/`([a-z]+)/g)].map((m) => m[1]);
    const cls = cells.length > 5 ? cells[3] : null; // the system table has a class column
    return { names, opcodes: opcodesOf(cells[2]), cls };
  });

describe('docs/isa.md documents exactly the instruction table', () => {
  it('every row names as many instructions as it gives opcodes', () => {
    for (const r of rows) expect(r.opcodes.length, r.names.join(' / ')).toBe(r.names.length);
  });

  it('every instruction is documented once, with the opcode the table gives it', () => {
    const documented = rows.flatMap((r) => r.names.map((name, i) => [name, r.opcodes[i]] as const));
    const table = INSTRUCTIONS.map((d) => [d.name, d.opcode] as const);
    const order = (a: readonly [string, number], b: readonly [string, number]): number => a[1] - b[1];
    expect([...documented].sort(order)).toEqual([...table].sort(order));
  });

  it('each system instruction is documented with its class on the default ISA', () => {
    const words: Record<string, string> = {
      privileged: 'privileged',
      trapping: 'trapping',
      'sensitive-unprivileged': 'sensitive, not privileged',
    };
    const system = rows.filter((r) => r.cls !== null);
    expect(system.length).toBeGreaterThan(0);
    for (const r of system) {
      for (const name of r.names) {
        const d = INSTRUCTIONS.find((x) => x.name === name)!;
        expect(r.cls!.replace(/\*/g, ''), name).toBe(words[declaredClass(d, 'default')]);
      }
    }
  });
});

describe('workloads/lib/vs32.inc, the constants include file for bare-metal programs', () => {
  it('is exactly what `virtstrat gen constants` generates from src/isa/arch.ts', () => {
    expect(readFileSync(new URL('../../workloads/lib/vs32.inc', import.meta.url), 'utf8')).toBe(constantsInclude());
  });

  it('assembles, and its symbols have the hardware values', () => {
    const r = assemble('        .include "vs32.inc"\n        .word PORT_POWER, VEC_PAGE_FAULT, FLAG_IF, PTE_FRAME_MASK\n', 'workloads/lib/probe.s', {});
    if (!r.ok) throw new Error(r.errors.map(formatError).join('\n'));
    expect(Array.from(new Uint32Array(r.image.buffer, r.image.byteOffset, 4))).toEqual([PORT_POWER, VEC_PAGE_FAULT, FLAG_IF, PTE_FRAME_MASK >>> 0]);
  });
});
