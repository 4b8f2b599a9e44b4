/**
 * Machine-state generation: for an instruction and a state index, a reproducible random state (registers,
 * condition flags, IF, paging, control registers, memory contents, the instruction word with random operand
 * fields) and its twins — the same state in the other mode, with IF flipped, or relocated in physical memory.
 *
 * States are stratified rather than purely random, so that every run covers what matters: even indices have
 * paging on, odd ones off; the register that an `rs`/memory operand names cycles through value kinds (a user
 * data address, the stack, the page with a stale TLB entry, a supervisor-only page, a read-only page, code, an
 * unaligned address, a small number, a random word, zero); `mtcr`/`mfcr` cycle through the valid control
 * registers. Everything else is random.
 */
import {
  CR_CTRL,
  CR_ECODE,
  CR_FAULTADDR,
  CR_KSP,
  CR_PTBR,
  CR_TPR,
  CR_TVB,
  FLAGS_CONDITION_MASK,
  NUM_CRS,
  NUM_REGS,
  PAGE_SHIFT,
  PORT_CONSOLE_DATA,
  PORT_CONSOLE_STATUS,
  PORT_DISK_ADDR,
  PORT_DISK_CMD,
  PORT_DISK_COUNT,
  PORT_DISK_IRQ,
  PORT_DISK_SECTOR,
  PORT_DISK_SIZE,
  PORT_DISK_STATUS,
  PORT_POWER,
  PORT_TIMER_COUNT,
  PORT_TIMER_PERIOD,
  PTE_P,
  SP,
  VALID_CRS,
  type IsaVariant,
} from '../isa/arch.js';
import type { ExecFn } from '../hw/interp.js';
import { Machine } from '../hw/machine.js';
import { ACCESS_READ } from '../hw/mmu.js';
import { encode, type InsnFields } from '../isa/encoding.js';
import type { InsnDef } from '../isa/table.js';
import {
  buildImage,
  CODE_PAGE,
  FRAMES,
  identityPlacement,
  MEMORY_BYTES,
  PAGES,
  pageVa,
  randomPlacement,
  relocate,
  STACK_PAGE,
  STALE_PAGE,
  type Contents,
  type PageRole,
  type Placement,
} from './layout.js';
import { mixSeed, pick, randInt, randWord, rng, type Rand } from './rng.js';

/** One complete machine state, with the instruction word at `pc`. Twins share `contents`. */
export interface MachineState {
  readonly index: number;
  readonly mode: 0 | 1;
  readonly iflag: 0 | 1;
  readonly paging: boolean;
  readonly pc: number;
  readonly word: number;
  readonly regs: readonly number[];
  /** Lazy condition flags, as CpuState keeps them. */
  readonly fa: number;
  readonly fb: number;
  readonly fk: number;
  readonly cr: readonly number[];
  readonly placement: Placement;
  readonly contents: Contents;
  /** Physical memory for this placement (built once, shared by the mode and IF twins). */
  readonly image: Int32Array;
}

/** What an operand register holds, cycled through by state index. */
export const OPERAND_VALUE_KINDS = [
  'data',
  'stack',
  'stale-tlb',
  'supervisor',
  'read-only',
  'code',
  'unaligned',
  'small',
  'random',
  'zero',
] as const;
type ValueKind = (typeof OPERAND_VALUE_KINDS)[number];

const PORTS = [
  PORT_CONSOLE_DATA,
  PORT_CONSOLE_STATUS,
  PORT_TIMER_PERIOD,
  PORT_TIMER_COUNT,
  PORT_DISK_SECTOR,
  PORT_DISK_ADDR,
  PORT_DISK_COUNT,
  PORT_DISK_CMD,
  PORT_DISK_STATUS,
  PORT_DISK_IRQ,
  PORT_DISK_SIZE,
  PORT_POWER,
];

function addressIn(r: Rand, role: PageRole, aligned = true): number {
  const pages = PAGES.map((p, i) => ({ p, i })).filter((x) => x.p.role === role);
  const page = pick(r, pages).i;
  const off = aligned ? randInt(r, 0, 1023) * 4 : randInt(r, 0, 4095);
  return pageVa(page) + off;
}

function valueOf(r: Rand, kind: ValueKind): number {
  switch (kind) {
    case 'data':
    case 'stack':
    case 'stale-tlb':
    case 'supervisor':
    case 'read-only':
    case 'code':
      return addressIn(r, kind);
    case 'unaligned':
      return addressIn(r, 'data') + randInt(r, 1, 3);
    case 'small':
      return randInt(r, -16, 16);
    case 'random':
      return randWord(r);
    case 'zero':
      return 0;
  }
}

/** A general register's value when no operand asks for a particular kind. */
function anyValue(r: Rand): number {
  const x = r();
  if (x < 0.35) return valueOf(r, pick(r, ['data', 'stack', 'stale-tlb', 'supervisor', 'read-only', 'code'] as const));
  if (x < 0.5) return valueOf(r, 'small');
  if (x < 0.6) return 0;
  return randWord(r);
}

/** A stack pointer with room for a push below and an exception frame above. */
const stackPointer = (r: Rand): number => pageVa(STACK_PAGE) + randInt(r, 16, 1000) * 4;

function immediate(r: Rand, def: InsnDef, operand: 'imm' | 'mem' | 'port' | 'target'): number {
  if (operand === 'port') return r() < 0.75 ? pick(r, PORTS) : randInt(r, 0, 0xffff);
  if (operand === 'target') return randInt(r, -1024, 1024);
  if (operand === 'mem') {
    // Mostly small aligned displacements, so the access lands near the base register's page.
    const x = r();
    if (x < 0.7) return randInt(r, -16, 16) * 4;
    if (x < 0.9) return randInt(r, -8, 8);
    return randInt(r, -0x8000, 0x7fff);
  }
  switch (def.imm) {
    case 's16':
      return randInt(r, -0x8000, 0x7fff);
    case 'u16':
      return randInt(r, 0, 0xffff);
    case 'u5':
      return randInt(r, 0, 31);
    default:
      return 0;
  }
}

/** Fast filler for page contents (the contents only need to differ from page to page). */
function fillPage(seed: number): Int32Array {
  const p = new Int32Array(1024);
  let x = seed | 1;
  for (let i = 0; i < p.length; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) | 0;
    p[i] = x ^ (x >>> 15);
  }
  return p;
}

/**
 * The base state number `index` for instruction `def` (supervisor mode; the twins give the rest). The same
 * (seed, opcode, index) always gives the same state.
 */
export function generateState(def: InsnDef, seed: number, index: number): MachineState {
  const r = rng(mixSeed(seed, def.opcode, index));
  const paging = index % 2 === 0;
  const kind = OPERAND_VALUE_KINDS[Math.floor(index / 2) % OPERAND_VALUE_KINDS.length];

  // Registers: random, sp on the stack; then the word's fields, and the rs operand's value of this stratum.
  const regs = Array.from({ length: NUM_REGS }, () => anyValue(r));
  regs[SP] = stackPointer(r);
  const f: InsnFields = {};
  for (const k of def.operands) {
    switch (k) {
      case 'rd':
        f.rd = randInt(r, 0, 15);
        break;
      case 'rt':
        f.rt = randInt(r, 0, 15);
        break;
      case 'rs':
      case 'mem':
        f.rs = randInt(r, 0, 15);
        // sp keeps a stack address: push, pop and iret use it implicitly.
        if (f.rs !== SP) regs[f.rs] = valueOf(r, kind);
        if (k === 'mem') f.imm = immediate(r, def, 'mem');
        break;
      case 'crd':
        f.rd = VALID_CRS[index % VALID_CRS.length];
        break;
      case 'crs':
        f.rs = VALID_CRS[index % VALID_CRS.length];
        break;
      case 'imm':
      case 'port':
      case 'target':
        f.imm = immediate(r, def, k);
        break;
    }
  }
  const word = encode(def, f);

  // Condition flags: half the states keep them lazily (operands of a compare), half as explicit bits.
  const lazy = r() < 0.5;
  const fa = lazy ? anyValue(r) : randWord(r) & FLAGS_CONDITION_MASK;
  const fb = lazy ? anyValue(r) : 0;
  const fk = lazy ? 0 : 1;

  const placement = paging ? randomPlacement(r) : identityPlacement(r);
  const cr = new Array<number>(NUM_CRS).fill(0);
  cr[CR_CTRL] = paging ? 1 : 0;
  cr[CR_TVB] = pageVa(PAGES.findIndex((p) => p.role === 'supervisor'));
  cr[CR_FAULTADDR] = randWord(r);
  cr[CR_PTBR] = placement.pd << PAGE_SHIFT;
  cr[CR_KSP] = stackPointer(r);
  cr[CR_ECODE] = randInt(r, 0, 31);
  cr[CR_TPR] = randInt(r, 0, 15);

  // Memory: random pages; the instruction at pc; an exception frame (pc, flags, valid mode, sp) at sp for iret.
  const pages = PAGES.map(() => fillPage(randWord(r)));
  const staleFresh = fillPage(randWord(r));
  const pc = pageVa(CODE_PAGE) + randInt(r, 0, 1023) * 4;
  pages[CODE_PAGE][(pc >>> 2) & 1023] = word;
  const frameAt = (regs[SP] >>> 2) & 1023;
  const stack = pages[STACK_PAGE];
  stack[frameAt] = pageVa(CODE_PAGE) + randInt(r, 0, 1023) * 4;
  stack[frameAt + 1] = randWord(r) & 0xfff;
  stack[frameAt + 2] = randInt(r, 0, 1);
  stack[frameAt + 3] = stackPointer(r);
  const contents: Contents = { pages, staleFresh };

  return {
    index,
    mode: 0,
    iflag: r() < 0.5 ? 0 : 1,
    paging,
    pc,
    word,
    regs,
    fa,
    fb,
    fk,
    cr,
    placement,
    contents,
    image: buildImage(placement, contents, paging),
  };
}

export const inMode = (s: MachineState, mode: 0 | 1): MachineState => (s.mode === mode ? s : { ...s, mode });

export const withIF = (s: MachineState, iflag: 0 | 1): MachineState => (s.iflag === iflag ? s : { ...s, iflag });

/** The same virtual machine with every page and page table in other physical frames (paging on only). */
export function relocated(s: MachineState): MachineState {
  const shift = 1 + (mixSeed(s.index, s.word) % (FRAMES - 1));
  const placement = relocate(s.placement, shift);
  const cr = [...s.cr];
  cr[CR_PTBR] = placement.pd << PAGE_SHIFT;
  return { ...s, placement, cr, image: buildImage(placement, s.contents, s.paging) };
}

/**
 * A machine in this state, running `exec` (the interpreter under study), with exceptions routed out of the run
 * loop ('monitor'): an exception is an observable event, not a delivery into guest handlers.
 */
export function buildMachine(s: MachineState, exec: ExecFn, isa: IsaVariant): Machine {
  const m = new Machine({ memoryBytes: MEMORY_BYTES, isa, diskSectors: 1 });
  m.exec = exec;
  m.routing = 'monitor';
  m.mem.i32.set(s.image);
  m.cpu.copyFrom(s);
  if (s.paging) {
    // Make the stale TLB entry the way software would: translate while the entry named the old frame, then
    // change the entry without invalidating.
    const pte = s.placement.pt * 1024 + PAGES[STALE_PAGE].vpn;
    const current = m.mem.i32[pte];
    m.mem.i32[pte] = (s.placement.staleCached << PAGE_SHIFT) | PTE_P | PAGES[STALE_PAGE].perm;
    m.mmu.translate(pageVa(STALE_PAGE), ACCESS_READ, 0);
    m.mem.i32[pte] = current;
  }
  return m;
}
