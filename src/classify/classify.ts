/**
 * The empirical Popek–Goldberg classifier. For every instruction of a table it generates states, executes the
 * instruction once per state in each mode (and with IF flipped, and — paging on — relocated) on the real hardware
 * model, and decides each property from what it observed (docs/popek-goldberg.md, "How the classifier decides"):
 *
 *   privileged          #GP in user mode from every state, #GP in supervisor mode from none;
 *   trapping            an exception in both modes from every state;
 *   control-sensitive   some execution that completed without an exception changed the mode, IF, a control
 *                       register, the memory map the processor uses, a device or the processor's run state;
 *   behaviour-sensitive two states that differ only in the mode / only in IF / only in where the map places the
 *                       same contents both completed with different unprivileged results;
 *   user-sensitive      control-, IF- or location-sensitive with the instruction running in user mode.
 *
 * The table's declarations (`privileged`, `traps`, `sensitive`) are never consulted, except to report the
 * declared class beside the observed one.
 */
import type { IsaVariant } from '../isa/arch.js';
import { compileInterpreter, interpreterFor, type ExecFn } from '../hw/interp.js';
import { declaredClass, INSTRUCTIONS, type InsnDef, type PgClass } from '../isa/table.js';
import { controlEffects, execute, isPrivilegeFault, unprivilegedDifferences, type Outcome } from './observe.js';
import { generateState, inMode, OPERAND_VALUE_KINDS, relocated, withIF, type MachineState } from './states.js';
import { decideTheorems, setsOf } from './theorems.js';
import type { Classification, InsnClassification, RunCounts, Witness, WitnessKind } from './types.js';
import { makeWitness } from './witness.js';

export const DEFAULT_SEED = 1;
/** States per instruction: enough for every stratum (10 operand kinds x 2 paging settings) three times over. */
export const DEFAULT_STATES = 64;
/**
 * Fewest states per instruction: every operand value kind once with paging on and once off. "Always traps" is
 * a claim about all states, and fewer states can make it true by accident (a load that happened to fault twice).
 */
export const MIN_STATES = 2 * OPERAND_VALUE_KINDS.length;

export interface ClassifyOptions {
  seed?: number;
  states?: number;
  /** The instruction table to study (default: THE table). A modified copy needs its own interpreter. */
  table?: readonly InsnDef[];
  /** The interpreter to run (default: generated from `table` for the variant). */
  interpreter?: ExecFn;
  /** Classify only these instructions (by name). */
  only?: readonly string[];
}

interface Tally {
  user: RunCounts;
  supervisor: RunCounts;
  /** First witness per key (kind, plus "-user" when observed in user mode), in discovery order. */
  witnesses: Map<string, Witness>;
}

const counts = (): RunCounts => ({ runs: 0, completed: 0, privilegeFaults: 0, otherExceptions: 0 });

function count(t: Tally, s: MachineState, o: Outcome): void {
  const c = s.mode === 1 ? t.user : t.supervisor;
  c.runs++;
  if (o.exception === null) c.completed++;
  else if (isPrivilegeFault(o)) c.privilegeFaults++;
  else c.otherExceptions++;
}

function keep(t: Tally, kind: WitnessKind, user: boolean, make: () => Witness): void {
  const key = `${kind}${user ? '-user' : ''}`;
  if (!t.witnesses.has(key)) t.witnesses.set(key, make());
}

/** A behaviour pair: both completed, results differ → a witness of `kind`. */
function pair(t: Tally, kind: WitnessKind, user: boolean, a: MachineState, oa: Outcome, b: MachineState, ob: Outcome): void {
  if (oa.exception !== null || ob.exception !== null) return;
  const key = `${kind}${user ? '-user' : ''}`;
  if (t.witnesses.has(key)) return;
  const diff = unprivilegedDifferences(oa, ob);
  if (diff.length > 0) t.witnesses.set(key, makeWitness(kind, user, [a, b], [oa, ob], diff));
}

/** Everything observed from one generated state and its twins. */
function experiment(t: Tally, base: MachineState, exec: ExecFn, isa: IsaVariant): number {
  const run = (s: MachineState): Outcome => {
    const o = execute(s, exec, isa);
    count(t, s, o);
    if (o.exception === null) {
      if (s.mode === 1) keep(t, 'unprivileged', true, () => makeWitness('unprivileged', true, [s], [o], ['no #GP: it ran with user privileges, so a VMM running the code deprivileged gets no trap']));
      if (!t.witnesses.has(`control${s.mode === 1 ? '-user' : ''}`)) {
        const effects = controlEffects(o);
        if (effects.length > 0) keep(t, 'control', s.mode === 1, () => makeWitness('control', s.mode === 1, [s], [o], effects));
      }
    }
    return o;
  };
  let runs = 0;
  const flipped = (base.iflag ^ 1) as 0 | 1;
  const sup = inMode(base, 0);
  const usr = inMode(base, 1);
  const sup2 = withIF(sup, flipped);
  const usr2 = withIF(usr, flipped);
  const oS = run(sup);
  const oU = run(usr);
  const oS2 = run(sup2);
  const oU2 = run(usr2);
  runs += 4;

  for (const [s, os, u, ou] of [[sup, oS, usr, oU], [sup2, oS2, usr2, oU2]] as const) {
    if (isPrivilegeFault(ou) && !isPrivilegeFault(os)) {
      keep(t, 'privileged', false, () => makeWitness('privileged', false, [u, s], [ou, os], ['#GP in user mode, no #GP in supervisor mode from the same state']));
    }
    if (ou.exception !== null && os.exception !== null) {
      keep(t, 'trapping', false, () =>
        makeWitness('trapping', false, [u, s], [ou, os], ['an exception in user mode and in supervisor mode from the same state']),
      );
    }
    pair(t, 'mode', false, s, os, u, ou);
  }
  pair(t, 'iflag', false, sup, oS, sup2, oS2);
  pair(t, 'iflag', true, usr, oU, usr2, oU2);

  if (base.paging) {
    const moved = relocated(base);
    const rs = inMode(moved, 0);
    const ru = inMode(moved, 1);
    const oRS = run(rs);
    const oRU = run(ru);
    runs += 2;
    pair(t, 'location', false, sup, oS, rs, oRS);
    pair(t, 'location', true, usr, oU, ru, oRU);
  }
  return runs;
}

/** Which witnesses a verdict keeps: the evidence for its class and for each sensitivity found. */
const WITNESS_ORDER: readonly string[] = [
  'privileged',
  'unprivileged-user',
  'trapping',
  'control',
  'control-user',
  'mode',
  'iflag',
  'iflag-user',
  'location',
  'location-user',
];

function verdict(def: InsnDef, isa: IsaVariant, t: Tally): InsnClassification {
  const w = t.witnesses;
  const privileged = t.user.runs > 0 && t.user.privilegeFaults === t.user.runs && t.supervisor.privilegeFaults === 0;
  const trapping = !privileged && t.user.completed === 0 && t.supervisor.completed === 0;
  const controlSensitive = w.has('control') || w.has('control-user');
  const behaviourSensitive = {
    mode: w.has('mode'),
    iflag: w.has('iflag') || w.has('iflag-user'),
    location: w.has('location') || w.has('location-user'),
  };
  const sensitive = controlSensitive || behaviourSensitive.mode || behaviourSensitive.iflag || behaviourSensitive.location;
  // Theorem 3: only what runs directly in a hybrid VMM matters — virtual user code, in real user mode.
  const userSensitive = w.has('control-user') || w.has('iflag-user') || w.has('location-user');
  const empirical: PgClass = privileged ? 'privileged' : trapping ? 'trapping' : sensitive ? 'sensitive-unprivileged' : 'innocuous';
  const declared = declaredClass(def, isa);
  // Class evidence only for its own class; sensitivity evidence whenever it was found.
  const classEvidence: Record<string, PgClass> = { privileged: 'privileged', 'unprivileged-user': 'sensitive-unprivileged', trapping: 'trapping' };
  const kept = WITNESS_ORDER.filter((k) => w.has(k) && (classEvidence[k] === undefined || classEvidence[k] === empirical)).map(
    (k) => w.get(k) as Witness,
  );
  return {
    name: def.name,
    opcode: def.opcode,
    declared,
    empirical,
    agrees: declared === empirical,
    privileged,
    trapping,
    controlSensitive,
    behaviourSensitive,
    sensitive,
    userSensitive,
    user: t.user,
    supervisor: t.supervisor,
    witnesses: kept,
  };
}

/** Classify every instruction of a table (default: THE table) on an ISA variant. Deterministic given the seed. */
export function classify(isa: IsaVariant, opts: ClassifyOptions = {}): Classification {
  const seed = opts.seed ?? DEFAULT_SEED;
  const states = opts.states ?? DEFAULT_STATES;
  if (!Number.isInteger(states) || states < MIN_STATES) throw new RangeError(`states must be an integer >= ${MIN_STATES}, got ${states}`);
  const table = opts.table ?? INSTRUCTIONS;
  const exec = opts.interpreter ?? (opts.table ? compileInterpreter(isa, table) : interpreterFor(isa));
  const defs = opts.only ? table.filter((d) => opts.only?.includes(d.name)) : table;
  let runs = 0;
  const instructions = defs.map((def) => {
    const t: Tally = { user: counts(), supervisor: counts(), witnesses: new Map() };
    for (let i = 0; i < states; i++) runs += experiment(t, generateState(def, seed, i), exec, isa);
    return verdict(def, isa, t);
  });
  const sets = setsOf(instructions);
  return {
    isa,
    seed,
    states,
    runs,
    instructions,
    sets,
    theorems: decideTheorems(sets),
    disagreements: instructions.filter((c) => !c.agrees).map((c) => ({ name: c.name, declared: c.declared, empirical: c.empirical })),
  };
}
