/** Witnesses: the states and the observed difference that prove a property, as printable plain data. */
import { CR_NAMES, FLAGS_CONDITION_MASK, SP, VALID_CRS } from '../isa/arch.js';
import { conditionFlags } from '../hw/cpu.js';
import { disassemble } from '../isa/disasm.js';
import { PAGES, pageVa, STALE_PAGE } from './layout.js';
import { describeOutcome, type Outcome } from './observe.js';
import type { MachineState } from './states.js';
import type { StateSummary, Witness, WitnessKind } from './types.js';

export function summarizeState(s: MachineState): StateSummary {
  const cr: Record<string, number> = {};
  for (const n of VALID_CRS) cr[CR_NAMES[n]] = s.cr[n] >>> 0;
  const frames: Record<string, number> = {};
  if (s.paging) {
    PAGES.forEach((p, i) => {
      // The stale page is reached through its TLB entry, so that frame is the one the program sees.
      const frame = i === STALE_PAGE ? s.placement.staleCached : s.placement.frames[i];
      frames[`0x${pageVa(i).toString(16)}`] = (frame << 12) >>> 0;
    });
  }
  const sp = s.regs[SP];
  const stack: number[] = [];
  for (let k = 0; k < 4; k++) stack.push(wordAt(s, (sp + 4 * k) | 0));
  return {
    index: s.index,
    mode: s.mode === 1 ? 'user' : 'supervisor',
    iflag: s.iflag,
    paging: s.paging,
    pc: s.pc >>> 0,
    regs: s.regs.map((v) => v >>> 0),
    flags: conditionFlags(s.fa, s.fb, s.fk) & FLAGS_CONDITION_MASK,
    cr,
    stack,
    frames,
  };
}

/** A word of the state's virtual window (0 outside it), for showing the stack. */
function wordAt(s: MachineState, va: number): number {
  const i = PAGES.findIndex((p) => p.vpn === va >>> 12);
  if (i < 0 || (va & 3) !== 0) return 0;
  return s.contents.pages[i][(va >>> 2) & 1023] >>> 0;
}

export function makeWitness(
  kind: WitnessKind,
  userMode: boolean,
  states: readonly MachineState[],
  outcomes: readonly Outcome[],
  differences: string[],
): Witness {
  const s = states[0];
  return {
    kind,
    userMode,
    instruction: disassemble(s.word, s.pc),
    word: s.word >>> 0,
    states: states.map(summarizeState),
    outcomes: outcomes.map(describeOutcome),
    differences,
  };
}
