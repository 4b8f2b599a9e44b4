/**
 * One engine on one guest: build the image the engine needs, run the reference for comparison, run the engine,
 * and turn what it counted into the result every consumer (CLI, matrix, reports, tests) uses.
 *
 * Data flow: workload -> assemble -> engine -> counters -> (fidelity, modeled cycles) -> result.
 */
import type { IsaVariant } from '../isa/arch.js';
import { DEFAULT_MEMORY_BYTES } from '../hw/memory.js';
import type { MachineStatus, RegisterDump } from '../hw/machine.js';
import type { BatchCount, CounterSnapshot, ReasonCount } from '../metrics/counters.js';
import { modeledCycles, type ModeledCycles } from '../metrics/cost.js';
import type { CostPreset } from '../metrics/presets.js';
import { buildProgram, type KernelBuild } from '../workload/build.js';
import type { WorkloadSpec } from '../../workloads/manifest.js';
import type { Engine, EngineOptionValue, EngineOutcome, SilentFailure, TraceSink } from '../../strategies/engine.js';
import { engineById, REFERENCE_ENGINE_ID } from '../../strategies/registry.js';
import { compareWithReference, type Fidelity } from './fidelity.js';
import { DEFAULT_BUDGET } from './reference.js';

/** What to run: a manifest workload at a scale, or a ready image (an assembly file: native build only). */
export type Guest =
  /** `check: false` — a user program with no expected output (virtstrat run --kernel): outputCorrect is null. */
  | { kind: 'workload'; workload: WorkloadSpec; scale: number; check?: boolean }
  | { kind: 'image'; name: string; image: Uint8Array };

export interface CellSpec {
  engine: Engine;
  guest: Guest;
  isa: IsaVariant;
  preset: CostPreset;
  /** Guest-instruction budget; default: 4x the reference's instructions plus a million (a hang ends quickly). */
  budget?: number;
  memoryBytes?: number;
  trace?: TraceSink | null;
  options?: Readonly<Record<string, EngineOptionValue>>;
}

export interface CellResult {
  engine: string;
  workload: string;
  scale: number | null;
  isa: IsaVariant;
  preset: string;
  /** Which kernel build ran. */
  guestBuild: KernelBuild;
  status: MachineStatus;
  message: string;
  exitCode: number | null;
  console: string;
  /** Does the console equal the manifest's expected output? (null for a plain image) */
  outputCorrect: boolean | null;
  fidelity: Fidelity;
  counters: CounterSnapshot;
  reasons: ReasonCount[];
  /** Batched calls by size (paravirt's HC_MMU_UPDATE and HC_MULTICALL). */
  batchSizes: BatchCount[];
  cycles: ModeledCycles;
  /** Modeled cycles divided by the reference's modeled cycles. */
  overheadVsNative: number;
  silentFailures: SilentFailure[];
  details: Record<string, EngineOptionValue>;
  budget: number;
  /** The final state of the guest's (virtual) CPU, and a hash of guest RAM. */
  registers: RegisterDump;
  memoryHash: string;
}

/** A guest that cannot be run by an engine (e.g. paravirt on a plain assembly file). */
export class GuestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GuestError';
  }
}

const imageCache = new Map<string, Uint8Array>();

/** What identifies a built workload: name, scale and kernel options (a workload may be run with other options). */
function guestKey(g: Extract<Guest, { kind: 'workload' }>): string {
  return `${g.workload.name}/${g.scale}/${JSON.stringify(g.workload.kernelOptions ?? {})}`;
}

export function guestImage(guest: Guest, build: KernelBuild): Uint8Array {
  if (guest.kind === 'image') {
    if (build !== 'native') {
      throw new GuestError(`${guest.name} is a plain program; a ${build} kernel exists only for the workloads of the manifest`);
    }
    return guest.image;
  }
  const { workload, scale } = guest;
  const key = `${guestKey(guest)}/${build}`;
  let image = imageCache.get(key);
  if (!image) {
    image = buildProgram({ program: workload.program, scale, build, kernelOptions: workload.kernelOptions }).image;
    imageCache.set(key, image);
  }
  return image;
}

const referenceCache = new Map<string, EngineOutcome>();

/** The reference run of a guest (cached per guest, scale, ISA, memory size and budget). */
export function referenceRun(guest: Guest, isa: IsaVariant, memoryBytes = DEFAULT_MEMORY_BYTES, budget = DEFAULT_BUDGET): EngineOutcome {
  const key = guest.kind === 'workload' ? `${guestKey(guest)}/${isa}/${memoryBytes}/${budget}` : null;
  const cached = key ? referenceCache.get(key) : undefined;
  if (cached) return cached;
  const ref = engineById(REFERENCE_ENGINE_ID)!;
  const out = ref.run({ image: guestImage(guest, 'native'), isa, budget, memoryBytes, trace: null, options: {} });
  if (key) referenceCache.set(key, out);
  return out;
}

export function runCell(spec: CellSpec): CellResult {
  const memoryBytes = spec.memoryBytes ?? DEFAULT_MEMORY_BYTES;
  // With an explicit budget the reference stops there too (a guest that never ends costs that budget, not
  // DEFAULT_BUDGET).
  const reference = referenceRun(spec.guest, spec.isa, memoryBytes, spec.budget ?? DEFAULT_BUDGET);
  const isReference = spec.engine.id === REFERENCE_ENGINE_ID;
  // A reference that never finished stopped at its budget: the engine gets the same one, so both stop at the same
  // instruction and compare exactly (four times as much would run four times as long, then "diverge").
  const budget =
    spec.budget ??
    (isReference || reference.status === 'budget-exhausted' ? DEFAULT_BUDGET : 4 * reference.counters.guestInstructions + 1_000_000);
  const options: Record<string, EngineOptionValue> = {};
  for (const o of spec.engine.options) options[o.name] = spec.options?.[o.name] ?? o.default;
  const outcome =
    isReference && spec.budget === undefined && !spec.trace
      ? reference
      : spec.engine.run({
          image: guestImage(spec.guest, spec.engine.guest),
          isa: spec.isa,
          budget,
          memoryBytes,
          trace: spec.trace ?? null,
          options,
        });
  const fidelity = compareWithReference(reference, outcome, spec.engine.guest === 'native' ? 'state' : 'output');
  const cycles = modeledCycles(outcome.counters, spec.preset);
  const base = modeledCycles(reference.counters, spec.preset).total;
  const guest = spec.guest;
  return {
    engine: spec.engine.id,
    workload: guest.kind === 'workload' ? guest.workload.name : guest.name,
    scale: guest.kind === 'workload' ? guest.scale : null,
    isa: spec.isa,
    preset: spec.preset.id,
    guestBuild: spec.engine.guest,
    status: outcome.status,
    message: outcome.message,
    exitCode: outcome.exitCode,
    console: outcome.console,
    outputCorrect: guest.kind === 'workload' && guest.check !== false ? outcome.console === guest.workload.expected(guest.scale) : null,
    fidelity,
    counters: outcome.counters.snapshot(),
    reasons: outcome.counters.reasonList(),
    batchSizes: outcome.counters.batchList(),
    cycles,
    overheadVsNative: base === 0 ? 0 : cycles.total / base,
    silentFailures: outcome.silentFailures,
    details: { ...options, ...outcome.details },
    budget,
    registers: outcome.registers,
    memoryHash: outcome.memoryHash,
  };
}
