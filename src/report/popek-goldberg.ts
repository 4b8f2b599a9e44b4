/**
 * The report's Popek–Goldberg section: the empirical classification of the run's ISA beside a compact fidelity
 * summary, the verdicts of Theorems 1 and 3, and — the link between theory and engines — for each instruction
 * that breaks Theorem 1's condition, its two witnesses (sensitive; no trap in user mode) and the workloads where
 * trap-and-emulate diverged with that instruction among its silent failures (`cell.silentFailures[].instruction`,
 * recorded by the fidelity oracle), split into those where it misbehaved first and those where it misbehaved only
 * after another instruction. Plain HTML: escaped text, no scripts, inline styles only.
 */
import { describeTwin } from '../classify/format.js';
import { FLAG_IF } from '../isa/arch.js';
import type { Classification, InsnClassification, Witness } from '../classify/types.js';
import { esc } from './escape.js';
import type { CellRecord } from './model.js';


const TRAP_EMULATE = 'trap-emulate';

const yes = (v: boolean, m: string): string => (v ? `<b>${m}</b>` : '·');

function behaviour(c: InsnClassification): string {
  const b = c.behaviourSensitive;
  const parts = [b.mode ? 'mode' : '', b.iflag ? 'IF' : '', b.location ? 'location' : ''].filter(Boolean);
  return parts.length ? `<b>${esc(parts.join(', '))}</b>` : '·';
}

function classTable(c: Classification): string {
  const shown = c.instructions.filter((i) => i.empirical !== 'innocuous' || i.declared !== 'innocuous');
  const innocuous = c.instructions.filter((i) => i.empirical === 'innocuous' && i.declared === 'innocuous');
  const rows = shown.map((i) => {
    const off = c.theorems.theorem1.offending.includes(i.name) || c.theorems.theorem3.offending.includes(i.name);
    const style = !i.agrees ? ' style="background:#fbe0dc"' : off ? ' style="background:#fff1cc"' : '';
    return (
      `<tr${style}><th><code>${esc(i.name)}</code></th><td>${esc(i.declared)}</td><td>${esc(i.empirical)}${i.agrees ? '' : ' <b>(disagrees)</b>'}</td>` +
      `<td>${yes(i.privileged, 'yes')}</td><td>${yes(i.trapping, 'yes')}</td><td>${yes(i.controlSensitive, 'yes')}</td>` +
      `<td>${behaviour(i)}</td><td>${yes(i.userSensitive, 'yes')}</td></tr>`
    );
  });
  // The innocuous majority goes below the table, so the table stays narrow enough to sit beside the fidelity summary.
  const rest = innocuous.length
    ? `<p class="note" style="max-width:48em">${esc(innocuous.length)} more instructions are innocuous, declared and observed: ${innocuous.map((i) => `<code>${esc(i.name)}</code>`).join(' ')}.</p>`
    : '';
  return (
    `<table class="pg-classes"><tr><th>instruction</th><th>declared</th><th>observed</th><th>privileged</th><th>trapping</th>` +
    `<th>control</th><th>behaviour</th><th>user-sensitive</th></tr>${rows.join('')}</table>${rest}`
  );
}

function engineOrder(cells: readonly CellRecord[]): string[] {
  const seen: string[] = [];
  for (const c of cells) if (!seen.includes(c.engine)) seen.push(c.engine);
  return seen;
}

function fidelitySummary(cells: readonly CellRecord[]): string {
  const rows = engineOrder(cells).map((id) => {
    const mine = cells.filter((c) => c.engine === id);
    const exact = mine.filter((c) => c.fidelity?.verdict === 'exact').length;
    const diverged = mine.filter((c) => c.fidelity?.verdict === 'diverged').length;
    const errors = mine.filter((c) => c.status === 'error').length;
    const style = diverged > 0 ? ' style="background:#fbe0dc"' : exact === mine.length ? ' style="background:#e3f4e1"' : '';
    return `<tr${style}><th>${esc(id)}</th><td>${esc(exact)}</td><td>${esc(diverged)}</td><td>${esc(errors)}</td></tr>`;
  });
  return `<table class="pg-engines"><tr><th>engine</th><th>exact</th><th>diverged</th><th>failed</th></tr>${rows.join('')}</table>`;
}

const WHAT: Record<string, string> = { control: 'control-sensitive', mode: 'mode-sensitive', iflag: 'IF-sensitive', location: 'location-sensitive' };

/** Where a witness ran: "in supervisor mode, IF = 0", and for popf the word it popped (what it set IF from). */
function where(w: Witness): string {
  const a = w.states[0];
  const popped = /^popf\b/.test(w.instruction) && a.stack.length > 0 ? `, popping 0x${a.stack[0].toString(16)} (IF bit ${a.stack[0] & FLAG_IF ? 'set' : 'clear'})` : '';
  return `in ${a.mode} mode, IF = ${a.iflag}${popped}${w.states.length === 2 ? `, against ${describeTwin(a, w.states[1])}` : ''}`;
}

/**
 * The evidence that an instruction breaks trap-and-emulate, in two lines: a witness that it is sensitive (the
 * user-mode one for a user-sensitive instruction: it also explains Theorem 3), and the witness that it completes
 * in user mode without a trap — the half that leaves a VMM running the guest kernel deprivileged blind.
 */
function evidence(i: InsnClassification): string {
  const sensitive: Witness | undefined =
    i.witnesses.find((x) => x.kind in WHAT && x.userMode === i.userSensitive) ?? i.witnesses.find((x) => x.kind in WHAT);
  const noTrap = i.witnesses.find((x) => x.kind === 'unprivileged');
  const lines = [
    sensitive ? `${WHAT[sensitive.kind]}: <code>${esc(sensitive.instruction)}</code> ${esc(where(sensitive))} — ${esc(sensitive.differences.join('; '))}` : '',
    noTrap ? `no trap: <code>${esc(noTrap.instruction)}</code> ${esc(where(noTrap))} — ${esc(noTrap.outcomes.join(', '))}; ${esc(noTrap.differences.join('; '))}` : '',
  ];
  return lines.filter(Boolean).join('<br>');
}

/** The instruction that misbehaved first in a run (the earliest silent failure): where the run left the reference's path. */
export function firstToMisbehave(c: CellRecord): string | null {
  const first = c.silentFailures.reduce<CellRecord['silentFailures'][number] | null>((a, f) => (a === null || f.firstClock < a.firstClock ? f : a), null);
  return first?.instruction ?? null;
}

/**
 * Workloads where trap-emulate diverged with `name` among its silent failures, most occurrences first; `first`:
 * `name` misbehaved before any other instruction, so the run's first difference goes back to it.
 */
export function divergencesBecauseOf(name: string, cells: readonly CellRecord[]): { workload: string; count: number; first: boolean }[] {
  return cells
    .filter((c) => c.engine === TRAP_EMULATE && c.fidelity?.verdict === 'diverged')
    .map((c) => ({ workload: c.workload, count: c.silentFailures.filter((f) => f.instruction === name).reduce((n, f) => n + f.count, 0), first: firstToMisbehave(c) === name }))
    .filter((x) => x.count > 0)
    .sort((a, b) => b.count - a.count || a.workload.localeCompare(b.workload));
}

const times = (n: number): string => `${n.toLocaleString('en-US')}×`;

function offenders(c: Classification, cells: readonly CellRecord[]): string {
  const te = cells.filter((x) => x.engine === TRAP_EMULATE);
  const off = c.theorems.theorem1.offending;
  if (off.length === 0) {
    const exact = te.filter((x) => x.fidelity?.verdict === 'exact').length;
    const tail = te.length ? ` On this ISA trap-emulate was exact on ${exact} of ${te.length} workloads.` : '';
    return `<p>No instruction is sensitive without being privileged, so nothing escapes a trap-and-emulate VMM.${esc(tail)}</p>`;
  }
  if (te.length === 0) {
    return `<p>Offending instructions: ${off.map((n) => `<code>${esc(n)}</code>`).join(', ')}. The trap-emulate engine was not part of this run, so there are no divergences to show.</p>`;
  }
  // The fidelity oracle names only instructions that report themselves to it (Emit.audit): say so when
  // trap-emulate diverged with no named cause, rather than suggest that nothing happened.
  const unexplained = te.filter((x) => x.fidelity?.verdict === 'diverged' && x.silentFailures.length === 0).map((x) => x.workload);
  const rows = off.map((name) => {
    const i = c.instructions.find((x) => x.name === name) as InsnClassification;
    const where = divergencesBecauseOf(name, cells);
    const first = where.filter((x) => x.first);
    const later = where.filter((x) => !x.first);
    const firstCell = first.length ? first.map((x) => `${esc(x.workload)} (${esc(times(x.count))})`).join(', ') : '—';
    const laterCell = where.length
      ? later.length
        ? later.map((x) => `${esc(x.workload)} (${esc(times(x.count))})`).join(', ')
        : '—'
      : unexplained.length
        ? `no silent failure names it; trap-emulate diverged without a named cause on ${esc(unexplained.join(', '))}`
        : 'no divergence of trap-emulate in this run names it';
    return `<tr><th><code>${esc(name)}</code></th><td>${evidence(i)}</td><td>${firstCell}</td><td>${laterCell}</td></tr>`;
  });
  return (
    `<table class="pg-offenders"><tr><th>instruction</th><th>why it escapes trap-and-emulate (two witnesses)</th>` +
    `<th>misbehaved first on — the root of the run's first difference (silent failures)</th>` +
    `<th>misbehaved only later on, after another instruction had already gone wrong</th></tr>${rows.join('')}</table>` +
    `<p class="note">A run leaves the reference's path at its first silent failure; everything that differs afterwards ` +
    `(the first difference the fidelity matrix shows, and often a loop) comes after it. An instruction listed only in the last ` +
    `column did misbehave, but in a run that was already wrong.</p>`
  );
}

function theorem(t: Classification['theorems']['theorem1']): string {
  const color = t.holds ? '#1a7f37' : '#b00';
  return (
    `<p><b>Theorem ${esc(t.theorem)}</b> — ${esc(t.statement)}. Condition <code>${esc(t.condition)}</code>: ` +
    `<b style="color:${color}">${t.holds ? "holds" : "fails"}</b>: ${esc(t.conclusion)}.</p>`
  );
}

/** The section; empty when the report carries no classification (a results.json written before it existed). */
export function popekGoldbergSection(c: Classification | undefined, cells: readonly CellRecord[]): string {
  if (!c) return '';
  return `<section id="popek-goldberg"><h2>Popek–Goldberg: the instruction set and the engines</h2>
<p class="note">Every instruction of the ${esc(c.isa)} ISA was executed on the hardware model from ${esc(c.states)} generated states,
in user and in supervisor mode (${esc(c.runs.toLocaleString('en-US'))} runs, seed ${esc(c.seed)}; <code>npx virtstrat classify --isa ${esc(c.isa)}</code>
prints the witnesses). The classification comes from what the hardware did, and is checked against the instruction table's
declarations. See docs/popek-goldberg.md.</p>
<div style="display:flex;flex-wrap:wrap;gap:2em;align-items:flex-start">
<div><h3>Classification (${esc(c.isa)} ISA)</h3>${classTable(c)}</div>
<div><h3>Fidelity by engine</h3>${fidelitySummary(cells)}</div>
</div>
${theorem(c.theorems.theorem1)}
${theorem(c.theorems.theorem3)}
<h3>The offending instructions in the engines</h3>
${offenders(c, cells)}
</section>`;
}
