/** The text form of a classification: the table, the sets, the theorem verdicts and the witnesses. */
import type { Classification, InsnClassification, StateSummary, Witness } from './types.js';

const hex = (v: number): string => `0x${(v >>> 0).toString(16)}`;

const KIND_TITLE: Readonly<Record<Witness['kind'], string>> = {
  privileged: 'privileged',
  unprivileged: 'not privileged',
  trapping: 'trapping',
  control: 'control-sensitive',
  mode: 'mode-sensitive',
  iflag: 'IF-sensitive',
  location: 'location-sensitive',
};

function behaviourMarks(c: InsnClassification): string {
  const b = c.behaviourSensitive;
  const s = `${b.mode ? 'M' : ''}${b.iflag ? 'I' : ''}${b.location ? 'L' : ''}`;
  return s || '-';
}

const mark = (v: boolean, m: string): string => (v ? m : '-');

export function formatTable(c: Classification): string {
  const w = Math.max(11, ...c.instructions.map((i) => i.name.length));
  const cls = 22;
  const head = `${'instruction'.padEnd(w)}  opcode  ${'declared'.padEnd(cls)}  ${'empirical'.padEnd(cls)}  priv  trap  ctrl  behav  user`;
  const rows = c.instructions.map((i) => {
    const row =
      `${i.name.padEnd(w)}  0x${i.opcode.toString(16).padStart(2, '0')}    ${i.declared.padEnd(cls)}  ${i.empirical.padEnd(cls)}  ` +
      `${mark(i.privileged, 'P').padEnd(4)}  ${mark(i.trapping, 'T').padEnd(4)}  ${mark(i.controlSensitive, 'C').padEnd(4)}  ` +
      `${behaviourMarks(i).padEnd(5)}  ${mark(i.userSensitive, 'U')}`;
    return i.agrees ? row.trimEnd() : `${row}   <-- DISAGREES with the table`;
  });
  return `${head}\n${rows.join('\n')}\n`;
}

const LEGEND =
  'priv: #GP in user mode from every state, never in supervisor mode. trap: an exception in both modes from every state.\n' +
  'ctrl: control-sensitive. behav: behaviour-sensitive (M mode, I IF, L location). user: user-sensitive (Theorem 3).\n';

export function formatSets(c: Classification): string {
  const s = c.sets;
  const rows: [string, string[]][] = [
    ['privileged', s.privileged],
    ['trapping', s.trapping],
    ['sensitive', s.sensitive],
    ['sensitive, not privileged', s.sensitiveUnprivileged],
    ['user-sensitive', s.userSensitive],
  ];
  const width = Math.max(...rows.map(([k, v]) => `${k} (${v.length}):`.length));
  return rows.map(([k, v]) => `${`${k} (${v.length}):`.padEnd(width)}  ${v.length ? v.join(' ') : '(none)'}`).join('\n') + '\n';
}

export function formatTheorems(c: Classification): string {
  return [c.theorems.theorem1, c.theorems.theorem3]
    .map((t) => `Theorem ${t.theorem}: ${t.statement}.\n  ${t.condition}: ${t.holds ? "HOLDS" : "FAILS"}: ${t.conclusion}.`)
    .join('\n');
}

/** The registers an instruction names (from its disassembly), to show their values. */
function namedRegisters(instruction: string): number[] {
  const out = new Set<number>();
  for (const m of instruction.matchAll(/\b(r(\d+)|sp|fp)\b/g)) out.add(m[1] === 'sp' ? 15 : m[1] === 'fp' ? 14 : Number(m[2]));
  out.add(15);
  return [...out];
}

export function describeState(s: StateSummary, instruction: string): string {
  const regs = namedRegisters(instruction)
    .map((n) => `${n === 15 ? 'sp' : `r${n}`} = ${hex(s.regs[n])}`)
    .join(', ');
  const paging = s.paging ? `paging on (ptbr ${hex(s.cr.ptbr)})` : 'paging off';
  return `state #${s.index}: ${s.mode}, IF = ${s.iflag}, ${paging}, pc ${hex(s.pc)}, ${regs}, words at sp: ${s.stack.map(hex).join(' ')}`;
}

/** How state B of a pair differs from state A. */
export function describeTwin(a: StateSummary, b: StateSummary): string {
  if (a.mode !== b.mode) return `the same state in ${b.mode} mode`;
  if (a.iflag !== b.iflag) return `the same state with IF = ${b.iflag}`;
  if (a.cr.ptbr !== b.cr.ptbr) {
    return `the same state relocated: the same virtual contents in other physical frames (ptbr ${hex(a.cr.ptbr)} → ${hex(b.cr.ptbr)})`;
  }
  return 'the same state';
}

export function formatWitness(w: Witness, indent = '    '): string {
  const title = `${KIND_TITLE[w.kind]}${w.userMode && w.kind !== 'unprivileged' ? ' (in user mode)' : ''}`;
  const lines = [`${indent}[${title}] ${w.instruction} (word ${hex(w.word).padStart(10)})`];
  if (w.states.length === 1) {
    lines.push(`${indent}  ${describeState(w.states[0], w.instruction)}`);
    lines.push(`${indent}  → ${w.outcomes[0]}: ${w.differences.join('; ')}`);
  } else {
    lines.push(`${indent}  A: ${describeState(w.states[0], w.instruction)}`);
    lines.push(`${indent}  B: ${describeTwin(w.states[0], w.states[1])}`);
    lines.push(`${indent}  → A ${w.outcomes[0]}, B ${w.outcomes[1]}: ${w.differences.join('; ')}`);
  }
  return lines.join('\n');
}

/** Witnesses of the instructions that break a theorem's condition. */
export function formatWitnesses(c: Classification): string {
  const offending = new Set([...c.theorems.theorem1.offending, ...c.theorems.theorem3.offending]);
  const blocks = c.instructions
    .filter((i) => offending.has(i.name))
    .map((i) => {
      const why = [i.sensitive && !i.privileged ? 'sensitive, not privileged' : '', i.userSensitive ? 'user-sensitive' : ''].filter(Boolean).join('; ');
      return `  ${i.name} — ${why}\n${i.witnesses.map((w) => formatWitness(w)).join('\n')}`;
    });
  if (blocks.length === 0) return 'No instruction breaks either condition.\n';
  return `Witnesses (the states and the observed difference; reproduce with the same --seed):\n${blocks.join('\n')}\n`;
}

export function formatClassification(c: Classification): string {
  const parts = [
    `Popek–Goldberg classification of the ${c.isa} ISA on the hardware model ` +
      `(seed ${c.seed}, ${c.states} states per instruction, ${c.runs.toLocaleString('en-US')} single-instruction runs)\n`,
    formatTable(c),
    LEGEND,
    formatSets(c),
    `${formatTheorems(c)}\n`,
    formatWitnesses(c),
  ];
  if (c.disagreements.length > 0) {
    parts.push(
      `The instruction table and the hardware model DISAGREE on ${c.disagreements.length} instruction${c.disagreements.length === 1 ? '' : 's'}: ` +
        `${c.disagreements.map((d) => `${d.name} (declared ${d.declared}, observed ${d.empirical})`).join(', ')}\n`,
    );
  }
  return parts.join('\n');
}
