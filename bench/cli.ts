/**
 * The `virtstrat` command line. `main(argv, io)` returns the exit status:
 *   0 success;
 *   1 the run failed: an input file that cannot be read or does not assemble (errors as file:line:column), an
 *     output that cannot be written, a guest that did not finish (budget, triple fault, machine check), a
 *     diverged or failed cell — and any internal error (one line; VIRTSTRAT_DEBUG=1 adds the stack trace);
 *   2 a usage error, found before anything runs: an unknown command or flag, a bad flag value — a --preset file
 *     that cannot be used included, since it is a flag's value; the message lists what is valid;
 *   130 bench interrupted with Ctrl-C (the previous report is left as it was: bench/bench.ts).
 * Output goes through `io` so tests can capture it.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { ISA_VARIANTS, type IsaVariant } from '../src/isa/arch.js';
import { assembleFile, formatError, type AsmError, type AssembleResult } from '../src/asm/index.js';
import { disassemble } from '../src/isa/disasm.js';
import { interpreterSource } from '../src/hw/interp.js';
import { constantsInclude } from '../src/isa/constants-inc.js';
import { DEFAULT_BUDGET } from '../src/run/reference.js';
import { ADAMS_AGESEN_2006, cyclesPerOperation, PAPER_WORKLOADS } from '../src/run/per-op.js';
import { BENCH_FLAGS, benchPlan, DEFAULT_OUT, runBench } from './bench.js';
import { MERGE_FLAGS, runMerge } from './merge.js';
import { PERF_FLAGS, perfPlan, runPerf } from './perf.js';
import { classify, DEFAULT_SEED, DEFAULT_STATES, formatClassification, MIN_STATES } from '../src/classify/index.js';
import { GuestError, guestImage, runCell, type CellResult, type Guest } from '../src/run/engine-run.js';
import { formatLockstep, lockstep, type LockstepResult } from '../src/run/lockstep.js';
import { BUILTIN_PRESETS, DEFAULT_PRESET_ID, loadPreset, PRESET_IDS, PresetError, type CostPreset } from '../src/metrics/presets.js';
import { ENGINE_IDS, ENGINES, engineById, REFERENCE_ENGINE_ID } from '../strategies/registry.js';
import type { Engine, EngineOptionValue, TraceEvent } from '../strategies/engine.js';
import { DEFAULT_MEMORY_BYTES, MAX_MEMORY_BYTES } from '../src/hw/memory.js';
import { BuildError, WORKLOADS_DIR } from '../src/workload/build.js';
import { WORKLOAD_NAMES, WORKLOADS, workloadByName, type WorkloadSpec } from '../workloads/manifest.js';
import {
  choice,
  helpText,
  parseCommandArgs,
  positiveInt,
  RunError,
  UsageError,
  type FlagSpecs,
  type Parsed,
} from './args.js';

export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** stderr is a terminal: progress can redraw one line. */
  isTTY?: boolean;
}

export const processIo: Io = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  isTTY: process.stderr.isTTY === true,
};

interface Command {
  usage: string;
  summary: string;
  flags: FlagSpecs;
  run(args: Parsed, io: Io): number | Promise<number>;
}

const HELP_FLAG: FlagSpecs = { help: { type: 'boolean', short: 'h', help: 'show this help' } };

const DEFINE_FLAG: FlagSpecs = {
  define: {
    type: 'string',
    short: 'D',
    multiple: true,
    value: 'NAME[=N]',
    help: 'define an assembler symbol (repeatable; value defaults to 1)',
  },
};

function parseDefines(values: Parsed['values']): Record<string, number> {
  const out: Record<string, number> = {};
  for (const d of (values.define as string[] | undefined) ?? []) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:=(.*))?$/.exec(d);
    const n = m ? Number(m[2] ?? '1') : NaN;
    if (!m || !Number.isInteger(n)) throw new UsageError(`--define: '${d}' is not NAME or NAME=integer`);
    out[m[1]] = n;
  }
  return out;
}

function oneFile(command: string, args: Parsed): string {
  if (args.positionals.length !== 1) {
    throw new UsageError(`${command}: expected exactly one file, got ${args.positionals.length} (see virtstrat ${command} --help)`);
  }
  return args.positionals[0];
}

/** Assemble a file; on errors print all of them and fail. */
/** A file that does not assemble: the errors, for `run --json` to report as data too. */
class AssemblyFailed extends RunError {
  constructor(
    message: string,
    readonly errors: readonly AsmError[],
  ) {
    super(message);
  }
}

function assembleOrFail(path: string, defines: Record<string, number>, io: Io): AssembleResult {
  const r = assembleFile(path, { defines });
  if (!r.ok) {
    for (const e of r.errors) io.err(`${formatError(e)}\n`);
    throw new AssemblyFailed(`${r.errors.length} error${r.errors.length === 1 ? '' : 's'} in ${path}`, r.errors);
  }
  return r;
}

function listing(image: Uint8Array): string {
  const dv = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const lines: string[] = [];
  let skipping = false;
  for (let off = 0; off + 4 <= image.length; off += 4) {
    const w = dv.getInt32(off, true);
    if (w === 0) {
      // Runs of zero words (space, alignment, gaps before .org) become one .org line.
      skipping = true;
      continue;
    }
    if (skipping || off === 0) lines.push(`.org 0x${off.toString(16)}`);
    skipping = false;
    const text = disassemble(w, off);
    lines.push(`        ${text.padEnd(36)} ; ${off.toString(16).padStart(8, '0')}: ${(w >>> 0).toString(16).padStart(8, '0')}`);
  }
  // Trailing bytes that do not fill a word.
  for (let off = image.length & ~3; off < image.length; off++) lines.push(`        .byte 0x${image[off].toString(16)}`);
  if (skipping) lines.push(`.org 0x${(image.length & ~3).toString(16)}`);
  return `${lines.join('\n')}\n`;
}

const RUN_FLAGS: FlagSpecs = {
  engine: { type: 'string', value: 'ID', help: `engine to run under (default ${REFERENCE_ENGINE_ID}): ${ENGINE_IDS.join(', ')}` },
  isa: { type: 'string', value: ISA_VARIANTS.join('|'), help: 'ISA variant (default: default)' },
  preset: { type: 'string', value: 'NAME|file.json', help: `cost preset (default ${DEFAULT_PRESET_ID}): ${PRESET_IDS.join(', ')}` },
  option: { type: 'string', multiple: true, value: 'NAME=VALUE', help: 'an engine option (repeatable; see virtstrat list)' },
  scale: { type: 'string', value: 'N', help: "workload size (default: the workload's default scale; with --kernel, 1)" },
  kernel: {
    type: 'boolean',
    help: 'run the file as a user program on the guest kernel, as the workloads run (any engine, paravirt included; docs/workloads.md)',
  },
  json: { type: 'boolean', help: 'print the result object as JSON' },
  trace: { type: 'boolean', help: 'print every VMM entry as it happens (guest pc, instruction, kind, reason)' },
  budget: { type: 'string', value: 'N', help: 'stop after N guest instructions (default: generous, from the reference run)' },
  memory: { type: 'string', value: 'BYTES', help: `guest physical memory size (default ${DEFAULT_MEMORY_BYTES})` },
  lockstep: {
    type: 'boolean',
    help: 'run the engine beside the reference and stop at the first instruction after which their states differ (docs/testing.md)',
  },
  ...DEFINE_FLAG,
  ...HELP_FLAG,
};

export function parseEngine(value: string | undefined): Engine {
  const id = value ?? REFERENCE_ENGINE_ID;
  const e = engineById(id);
  if (!e) throw new UsageError(`--engine: '${id}' is not an engine. Valid engines: ${ENGINE_IDS.join(', ')}`);
  return e;
}

export function parsePreset(value: string | undefined): CostPreset {
  try {
    return loadPreset(value ?? DEFAULT_PRESET_ID);
  } catch (err) {
    if (err instanceof PresetError) throw new UsageError(`--preset: ${err.message}`);
    throw err;
  }
}

/** --option NAME=VALUE, checked against the engine's options (a value takes the type of the default). */
export function parseEngineOptions(engine: Engine, values: string[] | undefined): Record<string, EngineOptionValue> {
  const out: Record<string, EngineOptionValue> = {};
  for (const v of values ?? []) {
    const m = /^([A-Za-z][A-Za-z0-9-]*)=(.*)$/.exec(v);
    const names = engine.options.map((o) => o.name);
    const spec = m ? engine.options.find((o) => o.name === m[1]) : undefined;
    if (!m || !spec) {
      const valid = names.length ? names.join(', ') : '(this engine has no options)';
      throw new UsageError(`--option: '${v}' is not an option of ${engine.id}. Valid options: ${valid}`);
    }
    const raw = m[2];
    if (typeof spec.default === 'boolean') {
      if (raw !== 'true' && raw !== 'false') throw new UsageError(`--option ${spec.name}: expected true or false, got '${raw}'`);
      out[spec.name] = raw === 'true';
    } else if (typeof spec.default === 'number') {
      const n = Number(raw);
      if (!Number.isInteger(n) || n < 0) throw new UsageError(`--option ${spec.name}: expected a whole number, got '${raw}'`);
      out[spec.name] = n;
    } else out[spec.name] = raw;
  }
  return out;
}

const hex8 = (v: number): string => `0x${(v >>> 0).toString(16).padStart(8, '0')}`;

export function formatTrace(e: TraceEvent): string {
  return `[trace] ${String(e.clock).padStart(10)} ${hex8(e.pc)} ${e.mode.padEnd(10)} ${e.kind.padEnd(9)} ${e.reason.padEnd(28)} ${e.instruction.padEnd(26)} -> ${e.action}`;
}

/** The human summary of a run, printed after the console output (on stderr). */
function fidelityLines(f: CellResult['fidelity']): string[] {
  if (f.verdict === 'exact') {
    return [`[virtstrat] fidelity: exact (${f.compared === 'state' ? 'output, final state and instruction count match' : 'output matches'} the reference)`];
  }
  const lines = [`[virtstrat] fidelity: DIVERGED`, ...f.differences.slice(0, 8).map((d) => `[virtstrat]   - ${d}`)];
  if (f.differences.length > 8) lines.push(`[virtstrat]   ... ${f.differences.length - 8} more differences`);
  if (f.cause) lines.push(`[virtstrat] cause: ${f.cause}`);
  return lines;
}

function summary(r: CellResult): string {
  const lines: string[] = [];
  const code = r.exitCode !== null ? ` with exit code ${r.exitCode}` : '';
  lines.push(`[virtstrat] ${r.engine} on ${r.workload}${r.scale !== null ? ` (scale ${r.scale})` : ''}, ${r.isa} ISA: ${r.status}${code} — ${r.message}`);
  const c = r.counters;
  lines.push(
    `[virtstrat] guest instructions: ${c.guestInstructions} (direct ${c.directInstructions}, interpreted ${c.interpretedInstructions}, ` +
      `emulated ${c.emulatedInstructions}, translated ${c.translatedInstructions})`,
  );
  lines.push(
    `[virtstrat] VMM entries: ${c.vmmEntries} (traps ${c.traps}, callouts ${c.callouts}, hypercalls ${c.hypercalls}, VM exits ${c.vmExits}, ` +
      `host interrupts ${c.hostInterrupts}), ${c.exitsPerKInsn.toFixed(2)} per 1,000 instructions`,
  );
  const top = [...r.reasons].sort((a, b) => b.count - a.count).slice(0, 6);
  if (top.length) lines.push(`[virtstrat] top reasons: ${top.map((x) => `${x.kind} ${x.reason} ×${x.count}`).join(', ')}`);
  // The reference is what every other engine is compared with: it has no overhead or fidelity of its own.
  const isReference = r.engine === REFERENCE_ENGINE_ID;
  const overhead = isReference ? ' (the reference run: bare metal)' : `, ${r.overheadVsNative.toFixed(2)}x native`;
  lines.push(`[virtstrat] modeled cycles (${r.preset}): ${Math.round(r.cycles.total)}${overhead}`);
  if (!isReference) lines.push(...fidelityLines(r.fidelity));
  if (r.outputCorrect !== null) {
    lines.push(`[virtstrat] output ${r.outputCorrect ? 'matches' : 'DIFFERS from'} the expected output of ${r.workload} at scale ${r.scale}`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * A workload's assembler defines from -D: kernel build options such as TIMER_PERIOD. SCALE has its own flag, and
 * PARAVIRT follows from the engine (the paravirt engine runs the paravirtual build).
 */
function workloadDefines(workload: WorkloadSpec, values: Parsed['values']): WorkloadSpec {
  const defines = parseDefines(values);
  if ('SCALE' in defines) throw new UsageError(`-D SCALE: use --scale N to size a workload`);
  if ('PARAVIRT' in defines) throw new UsageError(`-D PARAVIRT: the paravirt engine runs the paravirtual kernel build; use --engine paravirt`);
  if (Object.keys(defines).length === 0) return workload;
  return { ...workload, kernelOptions: { ...workload.kernelOptions, ...defines } };
}

/** The kernel is built for one memory size: a guest on it cannot be given another. */
function kernelMemory(values: Parsed['values'], what: string): void {
  if (values.memory !== undefined && Number(values.memory) !== DEFAULT_MEMORY_BYTES) {
    throw new UsageError(
      `--memory: the guest kernel is laid out for ${DEFAULT_MEMORY_BYTES} bytes of physical memory (workloads/kernel/defs.s), ` +
        `so ${what} always run with that; --memory applies to bare assembly files`,
    );
  }
}

/**
 * A user program of the student's own on the guest kernel (--kernel): built like a workload (the kernel, the user
 * library, the program), with no expected output to check.
 */
function userProgram(arg: string, values: Parsed['values']): Guest {
  if (!existsSync(arg)) throw new RunError(`cannot read '${arg}' (no such file)`);
  kernelMemory(values, 'user programs on it');
  const spec: WorkloadSpec = {
    name: arg,
    purpose: 'a user program on the guest kernel',
    exposes: '',
    program: resolvePath(arg),
    defaultScale: 1,
    quickScale: 1,
    scaleUnit: 'SCALE',
    expected: () => '',
  };
  const scale = positiveInt('scale', values.scale as string | undefined, 1, 0x7fffffff);
  return { kind: 'workload', workload: workloadDefines(spec, values), scale, check: false };
}

/** A positional argument is a workload name, or a path to an assembly file. */
function resolveGuest(arg: string, values: Parsed['values'], io: Io): Guest {
  const named = workloadByName(arg);
  if (named) {
    if (values.kernel === true) throw new UsageError(`--kernel: '${arg}' is a workload, which runs on the guest kernel already`);
    // SCALE is an assembler symbol: a 32-bit integer.
    const scale = positiveInt('scale', values.scale as string | undefined, named.defaultScale, 0x7fffffff);
    kernelMemory(values, 'workloads');
    return { kind: 'workload', workload: workloadDefines(named, values), scale };
  }
  const program = WORKLOADS.find((w) => resolvePath(WORKLOADS_DIR, w.program) === resolvePath(arg));
  if (program) {
    throw new UsageError(`${arg} is the user program of the workload '${program.name}', which runs on the guest kernel: virtstrat run ${program.name}`);
  }
  if (values.kernel === true) return userProgram(arg, values);
  if (values.scale !== undefined) throw new UsageError('--scale applies to workloads and --kernel programs, not to bare assembly files');
  if (!arg.endsWith('.s') && !existsSync(arg)) {
    throw new UsageError(`'${arg}' is neither a workload nor a file. Valid workloads: ${WORKLOAD_NAMES.join(', ')}`);
  }
  return { kind: 'image', name: arg, image: assembleOrFail(arg, parseDefines(values), io).image };
}

/** `run --lockstep`: the engine beside the reference, to the first instruction after which their states differ. */
function runLockstep(
  engine: Engine,
  guest: Guest,
  isa: IsaVariant,
  o: { budget: number | undefined; memoryBytes: number; options: Record<string, EngineOptionValue>; json: boolean },
  io: Io,
): number {
  if (engine.guest !== 'native') {
    throw new UsageError(`--lockstep: ${engine.id} runs the ${engine.guest} kernel build, whose states cannot be compared with the reference's`);
  }
  let r: LockstepResult;
  try {
    r = lockstep({ engine, image: guestImage(guest, 'native'), isa, memoryBytes: o.memoryBytes, options: o.options, budget: o.budget });
  } catch (err) {
    if (err instanceof BuildError || err instanceof RangeError) throw new RunError(err.message);
    throw err;
  }
  io.out(o.json ? `${JSON.stringify(r, null, 2)}\n` : formatLockstep(r));
  return r.divergence === null ? 0 : 1;
}

function runCommand(args: Parsed, io: Io): number {
  const arg = oneFile('run', args);
  const v = args.values;
  const engine = parseEngine(v.engine as string | undefined);
  const isa: IsaVariant = choice('isa', v.isa as string | undefined, ISA_VARIANTS, 'default');
  const preset = parsePreset(v.preset as string | undefined);
  const options = parseEngineOptions(engine, v.option as string[] | undefined);
  const budget = v.budget === undefined ? undefined : positiveInt('budget', v.budget as string, DEFAULT_BUDGET);
  const memoryBytes = positiveInt('memory', v.memory as string | undefined, DEFAULT_MEMORY_BYTES, MAX_MEMORY_BYTES);
  if (memoryBytes % 4096 !== 0) throw new UsageError(`--memory: '${String(v.memory)}' is not a whole number of 4096-byte pages`);
  const json = v.json === true;
  let guest: Guest;
  try {
    guest = resolveGuest(arg, v, io);
  } catch (err) {
    // With --json, a program that does not assemble is still a JSON answer on stdout (and exit status 1).
    if (json && err instanceof AssemblyFailed) {
      io.out(`${JSON.stringify({ status: 'assembly-failed', message: err.message, errors: err.errors }, null, 2)}\n`);
    }
    throw err;
  }
  if (v.lockstep === true) return runLockstep(engine, guest, isa, { budget, memoryBytes, options, json }, io);
  const traced: TraceEvent[] = [];
  const trace = v.trace === true ? (e: TraceEvent) => (json ? traced.push(e) : io.out(`${formatTrace(e)}\n`)) : null;
  let r: CellResult;
  try {
    r = runCell({ engine, guest, isa, preset, budget, memoryBytes, trace, options });
  } catch (err) {
    if (err instanceof BuildError || err instanceof GuestError || err instanceof RangeError) throw new RunError(err.message);
    throw err;
  }
  if (json) {
    const check = r.outputCorrect !== null ? { workload: r.workload, scale: r.scale, passed: r.outputCorrect } : undefined;
    io.out(`${JSON.stringify({ ...r, ...(check ? { check } : {}), ...(trace ? { trace: traced } : {}) }, null, 2)}\n`);
  } else {
    io.out(r.console);
    io.err(summary(r));
  }
  const finished = r.status === 'exited' || r.status === 'halted';
  return finished && r.outputCorrect !== false ? 0 : 1;
}

export const COMMANDS: Record<string, Command> = {
  bench: {
    usage: 'virtstrat bench [--engines a,b] [--workloads x,y] [--preset NAME] [--isa default|classic] [--scale N] [--quick] [--no-timing] [--jobs N] [--shard I/N] [--out DIR]',
    summary: `Run every engine on every workload and write report.html, results.csv, exit_reasons.csv and results.json to ${DEFAULT_OUT}/.`,
    flags: { ...BENCH_FLAGS(RUN_FLAGS.preset), ...HELP_FLAG },
    run(args, io) {
      const plan = benchPlan(args, parsePreset(args.values.preset as string | undefined));
      return runBench(plan, { out: io.out, err: io.err, isTTY: io.isTTY === true });
    },
  },
  perf: {
    usage: 'virtstrat perf [--runs N] [--engines a,b] [--workloads sieve,crc32,matmul] [--quick] [--json]',
    summary: 'Time the simulator itself: every engine in fresh processes (cold and warm) against the same algorithm in plain JavaScript.',
    flags: { ...PERF_FLAGS, ...HELP_FLAG },
    run: (args, io) => runPerf(perfPlan(args), io),
  },
  merge: {
    usage: 'virtstrat merge DIR... [--out DIR]',
    summary: 'Combine the reports of `bench --shard i/n` runs (their results.json) into one report, as an unsharded run writes it.',
    flags: { ...MERGE_FLAGS, ...HELP_FLAG },
    run: (args, io) => runMerge(args, io),
  },
  asm: {
    usage: 'virtstrat asm <file.s> [-o image.bin] [-D NAME=N]...',
    summary: 'Assemble a file. Prints a listing (disassembly with addresses), or writes the raw image with -o.',
    flags: { output: { type: 'string', short: 'o', value: 'FILE', help: 'write the binary image to FILE' }, ...DEFINE_FLAG, ...HELP_FLAG },
    run(args, io) {
      const r = assembleOrFail(oneFile('asm', args), parseDefines(args.values), io);
      const out = args.values.output as string | undefined;
      if (out) {
        try {
          writeFileSync(out, r.image);
        } catch (err) {
          throw new RunError(`cannot write ${out}: ${(err as Error).message}`);
        }
        io.err(`wrote ${r.image.length} bytes to ${out}\n`);
      } else io.out(listing(r.image));
      return 0;
    },
  },
  disasm: {
    usage: 'virtstrat disasm <file.s|image.bin> [-D NAME=N]...',
    summary: 'Disassemble an image (a .s file is assembled first). The output assembles back to the same bytes.',
    flags: { ...DEFINE_FLAG, ...HELP_FLAG },
    run(args, io) {
      const path = oneFile('disasm', args);
      let image: Uint8Array;
      if (path.endsWith('.s')) image = assembleOrFail(path, parseDefines(args.values), io).image;
      else {
        try {
          image = new Uint8Array(readFileSync(path));
        } catch (err) {
          throw new RunError(`cannot read ${path}: ${(err as Error).message}`);
        }
      }
      io.out(listing(image));
      return 0;
    },
  },
  run: {
    usage:
      'virtstrat run <workload|file.s> [--kernel] [--engine ID] [--isa default|classic] [--preset NAME] [--option NAME=VALUE] [--scale N] ' +
      '[--budget N] [--memory BYTES] [-D NAME[=N]] [--json] [--trace] [--lockstep]',
    summary: 'Run a workload (by name) or an assembly file under an engine (default: the bare-metal reference run).',
    flags: RUN_FLAGS,
    run: runCommand,
  },
  paper: {
    usage: 'virtstrat paper [--preset NAME|file.json] [--scale N] [--json]',
    summary: "Reproduce Adams & Agesen's nanobenchmark table: modeled cycles per operation, beside the paper's.",
    flags: {
      preset: RUN_FLAGS.preset,
      scale: { type: 'string', value: 'N', help: 'operations in the smaller of the two runs (default 1000; forkwait a tenth of it)' },
      json: { type: 'boolean', help: 'print as JSON' },
      ...HELP_FLAG,
    },
    run(args, io) {
      const preset = parsePreset(args.values.preset as string | undefined);
      const scale = positiveInt('scale', args.values.scale as string | undefined, 1000, 1_000_000);
      const engines = ENGINE_IDS;
      // One fork/wait pair is some 60,000 guest instructions: forkwait runs at a tenth of the scale.
      const scaleOf = (w: string): number => (w === 'forkwait' ? Math.max(1, Math.round(scale / 10)) : scale);
      const rows = PAPER_WORKLOADS.map((w) => ({
        workload: w,
        operation: ADAMS_AGESEN_2006[w].operation,
        scale: scaleOf(w),
        paper: ADAMS_AGESEN_2006[w],
        virtstrat: Object.fromEntries(
          // Each engine on an ISA variant it is faithful on (trap-emulate: the classic one).
          ENGINES.map((e) => [e.id, Math.round(cyclesPerOperation(e.id, w, preset, scaleOf(w), e.faithfulOn.includes('default') ? 'default' : 'classic'))]),
        ),
      }));
      if (args.values.json === true) {
        io.out(`${JSON.stringify({ preset: preset.id, scale, note: 'trap-emulate on the classic ISA', rows }, null, 2)}\n`);
        return 0;
      }
      io.out(
        `modeled cycles per operation (${preset.id}; marginal cost between scale ${scale} and ${2 * scale}, forkwait ${scaleOf('forkwait')} and ${2 * scaleOf('forkwait')}; trap-emulate on the classic ISA)\n\n`,
      );
      io.out(`${'operation'.padEnd(12)}${'paper: native'.padStart(14)}${'BT'.padStart(10)}${'VT-x'.padStart(10)}   |${engines.map((e) => e.padStart(13)).join('')}\n`);
      for (const r of rows) {
        const p = r.paper;
        io.out(
          `${r.workload.padEnd(12)}${String(p.native).padStart(14)}${String(p.bt).padStart(10)}${String(p.vtx).padStart(10)}   |` +
            `${engines.map((e) => String(r.virtstrat[e]).padStart(13)).join('')}\n`,
        );
      }
      return 0;
    },
  },
  classify: {
    usage: 'virtstrat classify [--isa default|classic] [--json] [--seed N] [--states N]',
    summary:
      "Check Popek and Goldberg's theorems: run every instruction from generated states in both modes, classify it, compare with the table.",
    flags: {
      isa: RUN_FLAGS.isa,
      json: { type: 'boolean', help: 'print the classification (verdicts, sets, theorems, witnesses) as JSON' },
      seed: { type: 'string', value: 'N', help: `seed of the generated machine states (default ${DEFAULT_SEED})` },
      states: { type: 'string', value: 'N', help: `generated states per instruction (default ${DEFAULT_STATES}, at least ${MIN_STATES})` },
      ...HELP_FLAG,
    },
    run(args, io) {
      if (args.positionals.length > 0) throw new UsageError(`classify takes no arguments, got '${args.positionals.join(' ')}' (see virtstrat classify --help)`);
      const v = args.values;
      const isa = choice('isa', v.isa as string | undefined, ISA_VARIANTS, 'default');
      const seedText = v.seed as string | undefined;
      const seed = seedText === undefined ? DEFAULT_SEED : Number(seedText);
      if (!/^\d+$/.test(seedText ?? '0') || !Number.isSafeInteger(seed) || seed > 0xffffffff) {
        throw new UsageError(`--seed: '${seedText}' is not a whole number between 0 and ${0xffffffff}`);
      }
      const states = positiveInt('states', v.states as string | undefined, DEFAULT_STATES, 100_000);
      if (states < MIN_STATES) throw new UsageError(`--states: at least ${MIN_STATES} (every operand kind with paging on and off)`);
      const c = classify(isa, { seed, states });
      io.out(v.json === true ? `${JSON.stringify(c, null, 2)}\n` : formatClassification(c));
      // A disagreement between the table and the hardware model is a failed check.
      return c.disagreements.length === 0 ? 0 : 1;
    },
  },
  list: {
    usage: 'virtstrat list [--json]',
    summary: 'List the workloads, the engines (with their options) and the cost presets.',
    flags: { json: { type: 'boolean', help: 'print as JSON' }, ...HELP_FLAG },
    run(args, io) {
      if (args.values.json === true) {
        const workloads = WORKLOADS.map((w) => ({
          name: w.name,
          purpose: w.purpose,
          exposes: w.exposes,
          defaultScale: w.defaultScale,
          quickScale: w.quickScale,
          scaleUnit: w.scaleUnit,
          ...(w.paper ? { paper: w.paper } : {}),
        }));
        const engines = ENGINES.map((e) => ({ id: e.id, title: e.title, summary: e.summary, guest: e.guest, options: e.options }));
        const presets = BUILTIN_PRESETS.map((p) => ({ id: p.id, name: p.name, description: p.description }));
        io.out(`${JSON.stringify({ workloads, engines, presets }, null, 2)}\n`);
        return 0;
      }
      const width = Math.max(...WORKLOADS.map((w) => w.name.length), ...ENGINES.map((e) => e.id.length));
      io.out('workloads (virtstrat run <name> [--scale N]):\n');
      for (const w of WORKLOADS) {
        const scale = `${w.defaultScale} ${w.scaleUnit}`;
        io.out(`  ${w.name.padEnd(width)}  ${scale.padEnd(26)} ${w.purpose}\n`);
      }
      io.out('\nengines (virtstrat run <workload> --engine <id> [--option name=value]):\n');
      for (const e of ENGINES) {
        io.out(`  ${e.id.padEnd(width)}  ${e.summary}\n`);
        for (const o of e.options) io.out(`  ${''.padEnd(width)}    --option ${o.name}=${String(o.default)}: ${o.help}\n`);
      }
      io.out('\ncost presets (--preset <id> or a .json file):\n');
      for (const p of BUILTIN_PRESETS) io.out(`  ${p.id.padEnd(width)}  ${p.name}\n`);
      return 0;
    },
  },
  gen: {
    usage: 'virtstrat gen interpreter|constants [--isa default|classic]',
    summary: 'Print generated code: the interpreter produced from the instruction table, or the constants include file.',
    flags: { isa: RUN_FLAGS.isa, ...HELP_FLAG },
    run(args, io) {
      const what = args.positionals[0];
      if (what === 'constants') {
        io.out(constantsInclude());
        return 0;
      }
      if (what !== 'interpreter') throw new UsageError(`gen: what to generate? Valid values: interpreter, constants`);
      const isa = choice('isa', args.values.isa as string | undefined, ISA_VARIANTS, 'default');
      io.out(`${interpreterSource(isa)}\n`);
      return 0;
    },
  },
};

function usage(): string {
  const rows = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  return `usage: virtstrat <command> [options]\n\ncommands:\n${rows.join('\n')}\n\nRun 'virtstrat <command> --help' for a command's options.\n`;
}

export async function main(argv: string[], io: Io = processIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    io.out(usage());
    return name === undefined ? 2 : 0;
  }
  const cmd = COMMANDS[name];
  try {
    if (!cmd) throw new UsageError(`unknown command '${name}'. Valid commands: ${Object.keys(COMMANDS).join(', ')}`);
    const args = parseCommandArgs(name, rest, cmd.flags);
    if (args.values.help === true) {
      io.out(helpText(cmd.usage, cmd.summary, cmd.flags));
      return 0;
    }
    return await cmd.run(args, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`virtstrat: ${err.message}\n`);
      return 2;
    }
    if (err instanceof RunError) {
      io.err(`virtstrat: ${err.message}\n`);
      return 1;
    }
    // Anything else is a bug in virtstrat, not in the input: one line, and the stack trace only when asked for.
    const e = err instanceof Error ? err : new Error(String(err));
    io.err(`virtstrat: internal error: ${e.name}: ${e.message}\n`);
    io.err(process.env.VIRTSTRAT_DEBUG ? `${e.stack ?? ''}\n` : '(a bug in virtstrat: set VIRTSTRAT_DEBUG=1 for the stack trace)\n');
    return 1;
  }
}
