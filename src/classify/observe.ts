/**
 * One experiment: build a machine in a state, execute the one instruction at pc with the interpreter under
 * study (`m.exec(m, 1)`), and record everything observable — the exception if one left the run loop, the
 * unprivileged results (registers, pc, condition flags, memory as seen through the map) and the control state
 * (mode, IF, control registers, the memory map the processor uses, devices and the processor's run state).
 */
import { Buffer } from 'node:buffer';
import { CR_NAMES, FLAGS_CONDITION_MASK, MODE_USER, VALID_CRS, VEC_PRIVILEGE, type IsaVariant } from '../isa/arch.js';
import type { ExecFn } from '../hw/interp.js';
import type { Machine } from '../hw/machine.js';
import { VEC_MACHINE_CHECK } from '../hw/mmu.js';
import { withRecycledMemory } from '../hw/memory.js';
import { describeMapping, effectiveMap, pageVa, virtualOf } from './layout.js';
import { buildMachine, type MachineState } from './states.js';

/** Device and processor run state, in a fixed order (see DEVICE_FIELDS). */
const DEVICE_FIELDS = [
  'console bytes',
  'timer period',
  'timer deadline',
  'timer fires',
  'disk sector',
  'disk DMA address',
  'disk sector count',
  'disk status',
  'disk interrupt enable',
  'disk completion time',
  'power off',
  'exit code',
  'device port reads',
  'device port writes',
  'halted',
  'pending interrupts',
  'interrupt shadow end',
] as const;

function deviceState(m: Machine): number[] {
  const d = m.dev;
  return [
    d.console.length,
    d.timer.period,
    d.timer.deadline,
    d.timer.fired,
    d.disk.sector,
    d.disk.addr,
    d.disk.count,
    d.disk.status,
    d.disk.irqEnabled,
    d.disk.completeAt,
    d.powerOff ? 1 : 0,
    d.exitCode,
    d.portReads,
    d.portWrites,
    m.halted ? 1 : 0,
    m.irqPending,
    m.shadowEnd,
  ];
}

/** Control state: everything a VMM must own. */
interface ControlState {
  mode: number;
  iflag: number;
  cr: number[];
  map: number[];
  device: number[];
}

function controlState(m: Machine): ControlState {
  return {
    mode: m.cpu.mode,
    iflag: m.cpu.iflag,
    cr: VALID_CRS.map((n) => m.cpu.cr[n]),
    map: effectiveMap(m),
    device: deviceState(m),
  };
}

export interface Write {
  /** Virtual address through the state's memory map (-1: a physical frame outside the map). */
  va: number;
  pa: number;
  before: number;
  after: number;
}

export interface Outcome {
  /** Vector of the exception that left the run loop, VEC_MACHINE_CHECK if the machine stopped, or null. */
  exception: number | null;
  pc: number;
  regs: number[];
  flags: number;
  writes: Write[];
  before: ControlState;
  after: ControlState;
}

/**
 * Execute the state's instruction once on a fresh machine (its memory recycled for the next experiment: the
 * classifier runs thousands of them, and allocating each machine's memory cost more than running it).
 */
export function execute(s: MachineState, exec: ExecFn, isa: IsaVariant): Outcome {
  return withRecycledMemory(() => executeOn(buildMachine(s, exec, isa), s));
}

function executeOn(m: Machine, s: MachineState): Outcome {
  const before = controlState(m);
  m.exec(m, 1);
  let exception: number | null = null;
  if (m.trapped) exception = m.fault.vector;
  else if (m.status !== 'running') exception = VEC_MACHINE_CHECK;
  const writes: Write[] = [];
  const mem = m.mem.i32;
  const img = s.image;
  // Native comparisons first (most instructions write nothing), then word by word inside a changed page.
  const bytes = (a: Int32Array, from: number, to: number) => new Uint8Array(a.buffer, a.byteOffset + from * 4, (to - from) * 4);
  if (Buffer.compare(bytes(mem, 0, img.length), bytes(img, 0, img.length)) !== 0) {
    for (let page = 0; page < img.length; page += 1024) {
      if (Buffer.compare(bytes(mem, page, page + 1024), bytes(img, page, page + 1024)) === 0) continue;
      for (let i = page; i < page + 1024; i++) {
        if (mem[i] !== img[i]) writes.push({ va: virtualOf(s.placement, s.paging, i << 2), pa: i << 2, before: img[i], after: mem[i] });
      }
    }
  }
  return {
    exception,
    pc: m.cpu.pc,
    regs: Array.from(m.cpu.regs),
    flags: m.cpu.flags() & FLAGS_CONDITION_MASK,
    writes,
    before,
    after: controlState(m),
  };
}

export const hex = (v: number): string => `0x${(v >>> 0).toString(16).padStart(8, '0')}`;
const short = (v: number): string => `0x${(v >>> 0).toString(16)}`;

const EXCEPTION_NAMES: Readonly<Record<number, string>> = {
  0: '#DE (divide error, vector 0)',
  6: '#UD (invalid opcode, vector 6)',
  13: '#GP (privilege violation, vector 13)',
  14: '#PF (page fault, vector 14)',
  17: '#AC (alignment check, vector 17)',
  [VEC_MACHINE_CHECK]: 'machine check (access outside physical memory)',
  128: 'syscall trap (vector 128)',
};

export function describeOutcome(o: Outcome): string {
  if (o.exception === null) return 'completed';
  return EXCEPTION_NAMES[o.exception] ?? `exception (vector ${o.exception})`;
}

export const isPrivilegeFault = (o: Outcome): boolean => o.exception === VEC_PRIVILEGE;

const modeName = (m: number): string => (m === MODE_USER ? 'user' : 'supervisor');

/** What a completed execution changed in the control state (empty: nothing). */
export function controlEffects(o: Outcome): string[] {
  const a = o.before;
  const b = o.after;
  const out: string[] = [];
  if (a.mode !== b.mode) out.push(`mode ${modeName(a.mode)} → ${modeName(b.mode)}`);
  if (a.iflag !== b.iflag) out.push(`IF ${a.iflag} → ${b.iflag}`);
  VALID_CRS.forEach((n, i) => {
    if (a.cr[i] !== b.cr[i]) out.push(`cr${n} (${CR_NAMES[n]}) ${short(a.cr[i])} → ${short(b.cr[i])}`);
  });
  a.map.forEach((v, i) => {
    if (v !== b.map[i]) out.push(`memory map: page ${short(pageVa(i))} → ${describeMapping(b.map[i])} instead of ${describeMapping(v)}`);
  });
  a.device.forEach((v, i) => {
    if (v !== b.device[i]) out.push(`${DEVICE_FIELDS[i]} ${v} → ${b.device[i]}`);
  });
  return out;
}

/**
 * How two completed executions differ in their unprivileged results: registers, pc, condition flags and the
 * memory writes as seen through each state's own map (empty: identical).
 */
export function unprivilegedDifferences(a: Outcome, b: Outcome): string[] {
  const out: string[] = [];
  if (a.pc !== b.pc) out.push(`pc ${hex(a.pc)} (A) vs ${hex(b.pc)} (B)`);
  a.regs.forEach((v, i) => {
    if (v !== b.regs[i]) out.push(`r${i} = ${hex(v)} (A) vs ${hex(b.regs[i])} (B)`);
  });
  if (a.flags !== b.flags) out.push(`condition flags ${hex(a.flags)} (A) vs ${hex(b.flags)} (B)`);
  const key = (w: Write) => (w.va >= 0 ? `word at ${hex(w.va)}` : `physical word at ${hex(w.pa)} (outside the map)`);
  const wa = new Map(a.writes.map((w) => [key(w), w.after]));
  const wb = new Map(b.writes.map((w) => [key(w), w.after]));
  for (const [k, v] of wa) {
    const other = wb.get(k);
    if (other === undefined) out.push(`${k} written with ${hex(v)} in A only`);
    else if (other !== v) out.push(`${k} = ${hex(v)} (A) vs ${hex(other)} (B)`);
  }
  for (const [k, v] of wb) if (!wa.has(k)) out.push(`${k} written with ${hex(v)} in B only`);
  return out;
}
