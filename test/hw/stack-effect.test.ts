/**
 * The instruction table's `stack` field (which instructions push or pop a word without naming sp) is what the
 * VMMs use to know an emulated instruction touches the stack. It is checked against the semantics: every
 * instruction is executed once in supervisor mode with operands that do not name sp, and the move of sp must be
 * the declared one — one word down for `push`, one word up for `pop`, none otherwise (iret excepted: it pops a
 * whole exception frame).
 */
import { describe, expect, it } from 'vitest';
import { INSTRUCTIONS } from '../../src/isa/table.js';
import { encode } from '../../src/isa/encoding.js';
import { SP } from '../../src/isa/arch.js';
import { machineWith, step } from '../support/machine.js';

const FRAME_POPS = new Set(['iret']);

describe("the instruction table's stack effects match what the instructions do", () => {
  it.each(INSTRUCTIONS.map((d) => [d.name, d] as const))('%s', (_name, d) => {
    // Registers 1..3 hold an aligned, non-zero address (no divide fault, aligned memory operands); the immediate
    // (an offset, a port, a shift) is small; control-register fields name cr1..cr3, which exist.
    const word = encode(d, { rd: 1, rs: 2, rt: 3, imm: 8 });
    const m = machineWith([word, 0, 0, 0], { regs: { 1: 0x4000, 2: 0x4000, 3: 0x4000 }, setup: (x) => x.mem.i32.fill(0x100, 0x4000 >> 2, (0x4000 >> 2) + 16) });
    const before = m.cpu.regs[SP];
    step(m, 1);
    const moved = (m.cpu.regs[SP] - before) | 0;
    const expected = d.stack === 'push' ? -4 : d.stack === 'pop' ? 4 : 0;
    if (!FRAME_POPS.has(d.name)) expect(moved).toBe(expected);
  });
});
