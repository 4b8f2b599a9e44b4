/**
 * The `virtstrat` command line. `main(argv, io)` returns the exit status:
 *   0 success; 1 the run failed (assembler errors, unreadable file, guest did not finish); 2 usage error.
 * Output goes through `io` so tests can capture it.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { ISA_VARIANTS, type IsaVariant } from '../src/isa/arch.js';
import { assembleFile, formatError, type AssembleResult } from '../src/asm/index.js';
import { disassemble } from '../src/isa/disasm.js';
import { interpreterSource } from '../src/hw/interp.js';
import { DEFAULT_BUDGET, runBare, type RunResult } from '../src/run/reference.js';
import { DEFAULT_MEMORY_BYTES, MAX_MEMORY_BYTES } from '../src/hw/memory.js';
import { BuildError, buildProgram } from '../src/workload/build.js';
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
}

export const processIo: Io = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
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
function assembleOrFail(path: string, defines: Record<string, number>, io: Io): AssembleResult {
  const r = assembleFile(path, { defines });
  if (!r.ok) {
    for (const e of r.errors) io.err(`${formatError(e)}\n`);
    throw new RunError(`${r.errors.length} error${r.errors.length === 1 ? '' : 's'} in ${path}`);
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
  json: { type: 'boolean', help: 'print the result object as JSON' },
  scale: { type: 'string', value: 'N', help: "workload size (default: the workload's default scale)" },
  budget: { type: 'string', value: 'N', help: `stop after N instructions (default ${DEFAULT_BUDGET})` },
  isa: { type: 'string', value: ISA_VARIANTS.join('|'), help: 'ISA variant (default: default)' },
  memory: { type: 'string', value: 'BYTES', help: `physical memory size (default ${DEFAULT_MEMORY_BYTES})` },
  ...DEFINE_FLAG,
  ...HELP_FLAG,
};

/** The workload check: does the console output equal what the manifest says it must print? */
export interface WorkloadCheck {
  workload: string;
  scale: number;
  passed: boolean;
}

function printRun(r: RunResult, json: boolean, io: Io, check?: WorkloadCheck): number {
  const ok = (r.status === 'exited' || r.status === 'halted') && (check?.passed ?? true);
  if (json) {
    io.out(`${JSON.stringify(check ? { ...r, check } : r, null, 2)}\n`);
  } else {
    io.out(r.console);
    const code = r.exitCode !== null ? ` with exit code ${r.exitCode}` : '';
    io.err(`[virtstrat] ${r.status}${code} after ${r.counters.guestInstructions} instructions: ${r.message}\n`);
    if (check) {
      io.err(
        check.passed
          ? `[virtstrat] output matches the expected output of ${check.workload} at scale ${check.scale}\n`
          : `[virtstrat] output DIFFERS from the expected output of ${check.workload} at scale ${check.scale}\n`,
      );
    }
  }
  return ok ? 0 : 1;
}

/** A positional argument is a workload name, or a path to an assembly file. */
export interface RunTarget {
  image: Uint8Array;
  workload?: WorkloadSpec;
  scale?: number;
}

function resolveTarget(arg: string, values: Parsed['values'], io: Io): RunTarget {
  const workload = workloadByName(arg);
  if (workload) {
    const scale = positiveInt('scale', values.scale as string | undefined, workload.defaultScale);
    try {
      const built = buildProgram({ program: workload.program, scale, build: 'native', kernelOptions: workload.kernelOptions });
      return { image: built.image, workload, scale };
    } catch (err) {
      if (err instanceof BuildError) throw new RunError(err.message);
      throw err;
    }
  }
  if (values.scale !== undefined) throw new UsageError('--scale applies to workloads, not to assembly files');
  if (!arg.endsWith('.s') && !existsSync(arg)) {
    throw new UsageError(`'${arg}' is neither a workload nor a file. Valid workloads: ${WORKLOAD_NAMES.join(', ')}`);
  }
  return { image: assembleOrFail(arg, parseDefines(values), io).image };
}

export const COMMANDS: Record<string, Command> = {
  asm: {
    usage: 'virtstrat asm <file.s> [-o image.bin] [-D NAME=N]...',
    summary: 'Assemble a file. Prints a listing (disassembly with addresses), or writes the raw image with -o.',
    flags: { output: { type: 'string', short: 'o', value: 'FILE', help: 'write the binary image to FILE' }, ...DEFINE_FLAG, ...HELP_FLAG },
    run(args, io) {
      const r = assembleOrFail(oneFile('asm', args), parseDefines(args.values), io);
      const out = args.values.output as string | undefined;
      if (out) {
        writeFileSync(out, r.image);
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
    usage: 'virtstrat run <workload|file.s> [--scale N] [--json] [--budget N] [--isa default|classic]',
    summary: 'Run a workload (by name) or an assembly file on the bare hardware model (the reference run).',
    flags: RUN_FLAGS,
    run(args, io) {
      const arg = oneFile('run', args);
      const isa: IsaVariant = choice('isa', args.values.isa as string | undefined, ISA_VARIANTS, 'default');
      const budget = positiveInt('budget', args.values.budget as string | undefined, DEFAULT_BUDGET);
      const memoryBytes = positiveInt('memory', args.values.memory as string | undefined, DEFAULT_MEMORY_BYTES, MAX_MEMORY_BYTES);
      const target = resolveTarget(arg, args.values, io);
      let r: RunResult;
      try {
        r = runBare(target.image, { isa, budget, memoryBytes });
      } catch (err) {
        if (err instanceof RangeError) throw new RunError(err.message);
        throw err;
      }
      const check =
        target.workload && target.scale !== undefined
          ? { workload: target.workload.name, scale: target.scale, passed: r.console === target.workload.expected(target.scale) }
          : undefined;
      return printRun(r, args.values.json === true, io, check);
    },
  },
  list: {
    usage: 'virtstrat list [--json]',
    summary: 'List the workloads: name, default scale and purpose.',
    flags: { json: { type: 'boolean', help: 'print as JSON' }, ...HELP_FLAG },
    run(args, io) {
      if (args.values.json === true) {
        const rows = WORKLOADS.map((w) => ({
          name: w.name,
          purpose: w.purpose,
          exposes: w.exposes,
          defaultScale: w.defaultScale,
          quickScale: w.quickScale,
          scaleUnit: w.scaleUnit,
          ...(w.paper ? { paper: w.paper } : {}),
        }));
        io.out(`${JSON.stringify({ workloads: rows }, null, 2)}\n`);
        return 0;
      }
      const width = Math.max(...WORKLOADS.map((w) => w.name.length));
      io.out('workloads (virtstrat run <name> [--scale N]):\n');
      for (const w of WORKLOADS) {
        const scale = `${w.defaultScale} ${w.scaleUnit}`;
        io.out(`  ${w.name.padEnd(width)}  ${scale.padEnd(26)} ${w.purpose}\n`);
      }
      return 0;
    },
  },
  gen: {
    usage: 'virtstrat gen interpreter [--isa default|classic]',
    summary: 'Print generated code: the interpreter produced from the instruction table.',
    flags: { isa: RUN_FLAGS.isa, ...HELP_FLAG },
    run(args, io) {
      const what = args.positionals[0];
      if (what !== 'interpreter') throw new UsageError(`gen: what to generate? Valid values: interpreter`);
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
    throw err;
  }
}
