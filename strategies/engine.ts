/**
 * The engine interface: what every virtualization strategy implements.
 *
 * An engine gets the guest (built images), the ISA variant, a budget and its options, runs the guest to the
 * end, and returns what happened (status, console, final virtual-CPU state) and what it counted. It never
 * prices anything and never compares with the reference: the harness does both, the same way for every
 * engine (src/run/engine-run.ts).
 *
 * All engines share the hardware model (src/hw) and its one implementation of instruction semantics. An
 * engine differs only in how the guest reaches that code: interpreted, executed directly, translated, through
 * a hypercall, or after a VM exit.
 */
import type { IsaVariant } from '../src/isa/arch.js';
import type { Execution, MachineStatus, RegisterDump } from '../src/hw/machine.js';
import type { Counters, EntryKind } from '../src/metrics/counters.js';
import type { KernelBuild } from '../src/workload/build.js';

/** One entry into the VMM, as `--trace` prints it. */
export interface TraceEvent {
  /** Guest instructions retired before the entry. */
  clock: number;
  /** Guest pc of the instruction that caused it. */
  pc: number;
  /** The guest's (virtual) mode at that point. */
  mode: 'supervisor' | 'user';
  /** The instruction, disassembled (empty when it could not be fetched). */
  instruction: string;
  /**
   * A VMM entry's kind — or, for what is not a VMM entry (and not counted as one): `inject`, a virtual interrupt
   * the VMM delivered into the guest; `silent`, a sensitive instruction that did the wrong thing without trapping
   * (the fidelity oracle saw it; the VMM could not).
   */
  kind: EntryKind | 'inject' | 'silent';
  reason: string;
  /** What the VMM did about it. */
  action: string;
}

export type TraceSink = (e: TraceEvent) => void;

/** A fidelity problem that no output comparison may reveal: the VMM's virtual CPU silently diverged. */
export interface SilentFailure {
  /** The sensitive instruction (popf, pushf, rdmode). */
  instruction: string;
  pc: number;
  /** How many times it happened at this pc. */
  count: number;
  /** Guest instructions retired when it first happened. */
  firstClock: number;
  /** What should have happened and what did. */
  detail: string;
}

export type EngineOptionValue = boolean | number | string;

export interface EngineOptionSpec {
  readonly name: string;
  readonly help: string;
  readonly default: EngineOptionValue;
}

export interface RunSpec {
  /** The guest image of each kernel build this engine may need (the harness builds what `guest` asks for). */
  readonly image: Uint8Array;
  readonly isa: IsaVariant;
  /** Stop with status 'budget-exhausted' after this many guest instructions. */
  readonly budget: number;
  readonly memoryBytes: number;
  readonly disk?: Uint8Array;
  readonly trace: TraceSink | null;
  readonly options: Readonly<Record<string, EngineOptionValue>>;
  /**
   * How the hardware model runs directly executed guest code (default 'compiled'): the interpreter or the
   * compiled fast path. An implementation detail — counts are identical either way; tests compare the two.
   * (Full emulation always interprets: that is what it stands for.)
   */
  readonly execution?: Execution;
}

export interface EngineOutcome {
  status: MachineStatus;
  message: string;
  exitCode: number | null;
  console: string;
  /** The final state of the guest's (virtual) CPU. */
  registers: RegisterDump;
  /** Hash of guest RAM at the end. */
  memoryHash: string;
  counters: Counters;
  silentFailures: SilentFailure[];
  /** Engine-specific facts worth reporting (e.g. the VMCS controls used). */
  details: Record<string, EngineOptionValue>;
}

export interface Engine {
  /** Stable id used on the command line and in reports. */
  readonly id: string;
  readonly title: string;
  /** One sentence: how the guest runs under this engine. */
  readonly summary: string;
  /** Which kernel the engine runs: the unmodified one, or the paravirtual build. */
  readonly guest: KernelBuild;
  /**
   * The ISA variants on which the engine claims to be faithful (every workload `exact`). Trap-and-emulate needs the
   * classic variant (Popek and Goldberg); the tests run every engine on these and expect divergence elsewhere.
   */
  readonly faithfulOn: readonly IsaVariant[];
  readonly options: readonly EngineOptionSpec[];
  run(spec: RunSpec): EngineOutcome;
}
