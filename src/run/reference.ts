/**
 * The reference run ("native"): a program on the bare hardware model, in supervisor mode, with no VMM.
 * Its console output and final state are the ground truth for fidelity; its counts are the baseline of every
 * overhead ratio.
 */
import type { IsaVariant } from '../isa/arch.js';
import { Machine, type Execution, type MachineStatus, type RegisterDump } from '../hw/machine.js';

export const DEFAULT_BUDGET = 2_000_000_000;

export interface BareRunOptions {
  /** Stop with status 'budget-exhausted' after this many retired instructions. */
  budget?: number;
  isa?: IsaVariant;
  memoryBytes?: number;
  /** Initial disk contents (copied; padded to whole sectors). */
  disk?: Uint8Array;
  /** How the hardware model runs the code (default: compiled; counts are identical). */
  execution?: Execution;
}

/** What a bare-metal run counted. */
export interface MachineCounters {
  guestInstructions: number;
  kernelInstructions: number;
  userInstructions: number;
  /** Clock ticks skipped while halted waiting for an interrupt. */
  idleTicks: number;
  interrupts: number;
  /** Exceptions and interrupts delivered through the guest's vectors, by vector name. */
  exceptions: Record<string, number>;
  tlbWalks: number;
  tlbFlushes: number;
  tlbInvalidations: number;
  pageWalkRefs: number;
  portReads: number;
  portWrites: number;
  timerFires: number;
  diskCommands: number;
}

export interface RunResult {
  status: MachineStatus;
  message: string;
  /** The value written to the power port, when the program powered off. */
  exitCode: number | null;
  console: string;
  counters: MachineCounters;
  registers: RegisterDump;
  /** Hash of all physical memory at the end (FNV-1a), for cheap final-state comparison. */
  memoryHash: string;
}

export function diskSectorsFor(disk: Uint8Array | undefined): number {
  return Math.max(256, Math.ceil((disk?.length ?? 0) / 512));
}

export function machineCounters(m: Machine): MachineCounters {
  return {
    guestInstructions: m.retired,
    kernelInstructions: m.retiredSupervisor,
    userInstructions: m.retiredUser,
    idleTicks: m.idle,
    interrupts: m.interruptsDelivered,
    exceptions: m.exceptionsByName(),
    tlbWalks: m.mmu.walks,
    tlbFlushes: m.mmu.flushes,
    tlbInvalidations: m.mmu.invalidations,
    pageWalkRefs: m.mmu.walkRefs,
    portReads: m.dev.portReads,
    portWrites: m.dev.portWrites,
    timerFires: m.dev.timer.fired,
    diskCommands: m.dev.disk.commands,
  };
}

/** Create a bare machine with the image at physical address 0 and the disk contents loaded. */
export function bareMachine(image: Uint8Array, opts: BareRunOptions = {}): Machine {
  const m = new Machine({ isa: opts.isa, memoryBytes: opts.memoryBytes, diskSectors: diskSectorsFor(opts.disk), execution: opts.execution ?? 'compiled' });
  m.mem.load(image, 0);
  if (opts.disk) m.dev.disk.data.set(opts.disk);
  return m;
}

export function resultOf(m: Machine): RunResult {
  return {
    status: m.status,
    message: m.statusMessage,
    exitCode: m.status === 'exited' ? m.dev.exitCode : null,
    console: m.dev.console.text(),
    counters: machineCounters(m),
    registers: m.registers(),
    memoryHash: m.mem.hash(),
  };
}

/** Run an assembled image on bare metal. */
export function runBare(image: Uint8Array, opts: BareRunOptions = {}): RunResult {
  const m = bareMachine(image, opts);
  m.run(opts.budget ?? DEFAULT_BUDGET);
  return resultOf(m);
}
