/**
 * The classifier's results as plain data: what `virtstrat classify --json` prints and what the benchmark report
 * carries. Every number is an unsigned 32-bit value or a count; nothing depends on the host or the wall clock.
 */
import type { IsaVariant } from '../isa/arch.js';
import type { PgClass } from '../isa/table.js';

export type { PgClass };

/** What a witness proves. */
export type WitnessKind =
  /** #GP in user mode, no #GP in supervisor mode, from the same state. */
  | 'privileged'
  /** It completed in user mode without any exception: it is not privileged. */
  | 'unprivileged'
  /** An exception in both modes. */
  | 'trapping'
  /** It completed without an exception and changed the mode, IF, a control register, the memory map or a device. */
  | 'control'
  /** Two states that differ only in the mode gave different unprivileged results. */
  | 'mode'
  /** Two states that differ only in IF gave different unprivileged results. */
  | 'iflag'
  /** Two states that differ only in where the memory map places the same contents gave different results. */
  | 'location';

/** A generated machine state, as printed in a witness. */
export interface StateSummary {
  /** Index of the generated state (the same index and seed give the same state). */
  index: number;
  mode: 'supervisor' | 'user';
  iflag: 0 | 1;
  paging: boolean;
  pc: number;
  /** r0..r15, unsigned. */
  regs: number[];
  /** The condition flags (CF, ZF, SF, OF) as FLAGS bits. */
  flags: number;
  /** Control registers by name (ctrl, tvb, faultaddr, ptbr, ksp, ecode, tpr). */
  cr: Record<string, number>;
  /** The four words at sp (what pop, popf, ret and iret read). */
  stack: number[];
  /** Physical frame of each mapped virtual page (paging on), e.g. {"0x8000": 0x13000}; empty with paging off. */
  frames: Record<string, number>;
}

export interface Witness {
  kind: WitnessKind;
  /** Observed with the instruction running in user mode (both states of a pair in user mode). */
  userMode: boolean;
  /** The instruction, disassembled at its address. */
  instruction: string;
  word: number;
  /** One state (privileged-ness, trapping, control) or the two states of a pair (A, then B). */
  states: StateSummary[];
  /** What happened from each state: "completed" or the exception, e.g. "#GP (vector 13)". */
  outcomes: string[];
  /** The observed effect or difference, one line each. */
  differences: string[];
}

/** Runs from one mode. */
export interface RunCounts {
  runs: number;
  /** Completed without an exception. */
  completed: number;
  /** Raised #GP (vector 13). */
  privilegeFaults: number;
  /** Raised another exception (or stopped the machine: machine check). */
  otherExceptions: number;
}

export interface BehaviourSensitivity {
  /** Its unprivileged result depends on the mode. */
  mode: boolean;
  /** ... on IF. */
  iflag: boolean;
  /** ... on where the memory map places the same contents (P&G's location sensitivity). */
  location: boolean;
}

export interface InsnClassification {
  name: string;
  opcode: number;
  /** The class the instruction table declares (src/isa/table.ts `declaredClass`). */
  declared: PgClass;
  /** The class observed on the hardware model. */
  empirical: PgClass;
  agrees: boolean;
  /** #GP in user mode from every state, never #GP in supervisor mode. */
  privileged: boolean;
  /** An exception in both modes from every state. */
  trapping: boolean;
  controlSensitive: boolean;
  behaviourSensitive: BehaviourSensitivity;
  /** controlSensitive or behaviour-sensitive in any way. */
  sensitive: boolean;
  /** Control-, IF- or location-sensitive from a user-mode state (Theorem 3; see docs/popek-goldberg.md). */
  userSensitive: boolean;
  user: RunCounts;
  supervisor: RunCounts;
  /** The first witness found for each property (none for innocuous instructions). */
  witnesses: Witness[];
}

export interface TheoremVerdict {
  theorem: 1 | 3;
  /** What the theorem promises if the condition holds. */
  statement: string;
  /** The condition, e.g. "sensitive ⊆ privileged". */
  condition: string;
  holds: boolean;
  /** The instructions that break the condition (table order). */
  offending: string[];
  /** One sentence: the verdict and why. */
  conclusion: string;
}

export interface ClassificationSets {
  privileged: string[];
  trapping: string[];
  sensitive: string[];
  /** Sensitive and not privileged: the instructions that defeat trap-and-emulate. */
  sensitiveUnprivileged: string[];
  userSensitive: string[];
  innocuous: string[];
}

export interface Classification {
  isa: IsaVariant;
  seed: number;
  /** Generated states per instruction (each run in both modes, with IF flipped, and relocated when paging is on). */
  states: number;
  /** Single-instruction executions performed in total. */
  runs: number;
  instructions: InsnClassification[];
  sets: ClassificationSets;
  theorems: { theorem1: TheoremVerdict; theorem3: TheoremVerdict };
  /** Instructions whose empirical class differs from the declared one (empty when the table is right). */
  disagreements: { name: string; declared: PgClass; empirical: PgClass }[];
}
