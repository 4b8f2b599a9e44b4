/**
 * A generated guest program, as data, and its rendering to assembly text.
 *
 * A program is two lists of *items* — the supervisor body and the user body — plus a few settings (paging,
 * the timer, the initial registers and flags). An item renders to a few lines of assembly: one instruction
 * of the table with its operands, or a small construct around one (a load with its address set up, a
 * bounded loop, a subroutine call, a self-modifying store, a jump to a page that faults on fetch). Shrinking
 * removes items and simplifies fields; labels are numbered at rendering, so any sub-list is still a valid
 * program.
 *
 * The rendered program is a bare-metal image (no guest kernel) with a small hand-written runtime around the
 * generated code:
 *   - the prologue (supervisor, at 0) sets the trap vectors, the stacks, the page tables (and turns paging on
 *     if the program asks), the timer, the initial registers, and jumps to the supervisor body;
 *   - the supervisor body ends by entering user mode with `iret` (a frame built by hand) at the user body;
 *   - the user body ends with a `syscall` whose r13 asks the runtime to power off;
 *   - the fault handlers count the fault, record cr2/cr5 and resume after the faulting instruction — or, for a
 *     fault on instruction fetch (the pc is misaligned, outside the code pages, or a #PF on fetch), at the
 *     continuation the generated code left in r13; the timer, disk and syscall handlers count and return.
 * Registers r12 (loop counter), r13 (continuation) and sp are reserved: generated code reads them but never
 * writes them except through the constructs that own them (and push/pop for sp).
 */
import { FLAGS_MASK, NUM_VECTORS, PAGE_SIZE, PORT_DISK_ADDR, PORT_DISK_CMD, PORT_DISK_COUNT, PORT_DISK_IRQ, PORT_DISK_SECTOR, PORT_DISK_STATUS, PORT_POWER, PORT_TIMER_PERIOD, PF_FETCH, VEC_DISK, VEC_PAGE_FAULT, VEC_SYSCALL, VEC_TIMER } from '../isa/arch.js';
import { encode, type InsnFields } from '../isa/encoding.js';
import { crName, disassemble, regName } from '../isa/disasm.js';
import { insnByName } from '../isa/table.js';
import {
  CODE_END,
  EXIT_ABORT,
  EXIT_OK,
  EXIT_REQUEST,
  EXIT_TOO_MANY_FAULTS,
  EXIT_UNEXPECTED_VECTOR,
  EXIT_WATCHDOG,
  FUZZ_MEMORY_BYTES,
  K_BY_VECTOR,
  K_DISK,
  K_FAULTS,
  K_LAST_ADDR,
  K_LAST_CODE,
  K_LAST_VECTOR,
  K_SYSCALLS,
  K_TICKS,
  KDATA,
  KSP_VALUES,
  MAX_FAULTS,
  MAX_TICKS,
  NO_CONTINUATION,
  PAGE_TABLE_A,
  PAGE_TABLE_B,
  PD_A,
  PD_B,
  PT_A,
  PT_B,
  REGION_BASE,
  POISON_SUP,
  POISON_USER,
  SANDBOX,
  SUP_CODE,
  SUP_SP,
  UNMAPPED,
  USER_CODE,
  USER_SP,
  VECTORS,
  type Region,
} from './layout.js';
import { SENSITIVE_UNPRIVILEGED, SHAPES } from './shapes.js';

/** Registers generated code may write. r12 (loop counter), r13 (fetch continuation) and sp are reserved. */
export const WRITABLE_REGS: readonly number[] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 14];
export const LOOP_REG = 12;
export const CONT_REG = 13;

export type CodeMode = 'supervisor' | 'user';

/** One instruction of the table with its operand fields (fields it does not use are ignored). */
export interface Op {
  readonly name: string;
  readonly rd: number;
  readonly rs: number;
  readonly rt: number;
  /** The immediate, port or (for mfcr/mtcr) nothing: control registers are in rd/rs as the table says. */
  readonly imm: number;
}

/**
 * Where a generated jump lands to fault on instruction fetch: a page that is not present (#PF; with paging off,
 * poison), a supervisor-only poison page (#PF from user mode, #UD in supervisor mode), a user poison page (#UD),
 * a misaligned address (#AC).
 */
export type FetchTarget = 'unmapped' | 'supervisor-page' | 'user-page' | 'misaligned';

/** A construct that contains no other construct (the body of a loop, a branch or a subroutine). */
export type FlatItem =
  | { readonly k: 'op'; readonly op: Op }
  | { readonly k: 'li'; readonly rd: number; readonly value: number }
  | {
      readonly k: 'mem';
      /** A load or store of the table (a memory shape). */
      readonly name: string;
      readonly rd: number;
      readonly base: number;
      readonly region: Region;
      readonly offset: number;
      readonly disp: number;
    }
  /** `out port, reg` with the value set up first (supervisor; in user mode it is just #GP). */
  | { readonly k: 'out'; readonly port: number; readonly value: number; readonly reg: number }
  | { readonly k: 'mtcr'; readonly cr: number; readonly value: number; readonly reg: number }
  | { readonly k: 'invlpg'; readonly addr: number; readonly reg: number }
  /** Supervisor: return to the next instruction through `iret`, with a frame that sets FLAGS (IF included). */
  | { readonly k: 'iret'; readonly flags: number; readonly reg: number }
  /** Supervisor: a disk transfer of `count` sectors to or from the sandbox; `poll`: then wait for it (as `wait`). */
  | {
      readonly k: 'disk';
      readonly sector: number;
      readonly offset: number;
      readonly count: number;
      readonly write: boolean;
      readonly irq: boolean;
      readonly poll: boolean;
      readonly reg: number;
      readonly reg2: number;
    }
  /** Supervisor: rewrite the entry of a data page in table A, then invlpg it (or reload ptbr). */
  | { readonly k: 'pte'; readonly page: number; readonly frame: number; readonly bits: number; readonly reload: boolean; readonly reg: number; readonly reg2: number }
  /**
   * A store into code that is then executed: `stw` replaces a `nop` with `patch`; `stb` replaces the low byte
   * of `patch` (its immediate) with `byte`. `before`: the patched site runs once unpatched first (in a loop,
   * the next iteration runs the new code).
   */
  | { readonly k: 'smc'; readonly store: 'stw' | 'stb'; readonly patch: Op; readonly byte: number; readonly before: boolean; readonly reg: number; readonly reg2: number }
  /** A word with an undefined opcode: #UD. */
  | { readonly k: 'undef'; readonly opcode: number; readonly low: number }
  /** Jump (jmpr or callr) to an address whose fetch faults; the handler resumes at the next item (r13). */
  | { readonly k: 'fetch'; readonly target: FetchTarget; readonly via: string; readonly offset: number; readonly reg: number }
  /**
   * Supervisor: wait for a device. `hlt`: sti; hlt (sleeps until an interrupt — or stops for good if none can
   * come); `poll`: read the disk status until it is not busy, at most 64 times.
   */
  | { readonly k: 'wait'; readonly how: 'hlt' | 'poll'; readonly reg: number; readonly reg2: number }
  /** The end: spin forever (the budget stops every engine at the same instruction). */
  | { readonly k: 'spin' };

export type Item =
  | FlatItem
  /** An optional compare, a conditional branch over the body. */
  | { readonly k: 'if'; readonly compare: Op | null; readonly branch: string; readonly body: readonly FlatItem[] }
  /** The body `count` times (r12 counts). */
  | { readonly k: 'loop'; readonly count: number; readonly body: readonly FlatItem[] }
  /** `call`/`callr` a subroutine holding the body (no stack items in it, so `ret` finds its address). */
  | { readonly k: 'call'; readonly via: string; readonly reg: number; readonly body: readonly FlatItem[] }
  /** `jmp`/`jmpr` over the body: dead code. */
  | { readonly k: 'skip'; readonly via: string; readonly reg: number; readonly body: readonly FlatItem[] };

export interface Program {
  readonly paging: boolean;
  /** Timer period in instructions (0: off). */
  readonly timer: number;
  /** Interrupts on in the supervisor body (sti in the prologue). */
  readonly supervisorIF: boolean;
  /** FLAGS of the user body (IF and condition flags), set by the iret into user mode. */
  readonly userFlags: number;
  /** Where each body starts in its two code pages (near the end: its code crosses a page boundary). */
  readonly supervisorOffset: number;
  readonly userOffset: number;
  /** Initial values of the writable registers, in WRITABLE_REGS order. */
  readonly regs: readonly number[];
  readonly supervisor: readonly Item[];
  readonly user: readonly Item[];
}

const hex = (v: number): string => `0x${(v >>> 0).toString(16)}`;
const R = regName;

/** The instruction word of an op (what a self-modifying store writes): only the fields its operands use. */
export function opWord(op: Op): number {
  const def = insnByName(op.name);
  if (!def) throw new Error(`fuzz: no instruction '${op.name}'`);
  const f: InsnFields = {};
  for (const k of def.operands) {
    if (k === 'rd' || k === 'crd') f.rd = op.rd;
    else if (k === 'rs' || k === 'crs') f.rs = op.rs;
    else if (k === 'rt') f.rt = op.rt;
    else if (k === 'imm' || k === 'port') f.imm = def.imm === 'u16' ? op.imm & 0xffff : op.imm;
    else throw new Error(`fuzz: ${op.name} needs a construct, not an op`);
  }
  return encode(def, f);
}

/** The assembly text of an op: its word, disassembled (so the text is exactly what runs). */
export function opText(op: Op): string {
  return disassemble(opWord(op), 0);
}

/** Items nested in an item (its body), or none. */
export function bodyOf(item: Item): readonly FlatItem[] {
  return 'body' in item ? item.body : [];
}

/** Every table instruction an item list can execute as an op, compare or patch (for coverage and explanations). */
export function opsOf(items: readonly Item[]): Op[] {
  const out: Op[] = [];
  for (const it of items) {
    if (it.k === 'op') out.push(it.op);
    else if (it.k === 'smc') out.push(it.patch);
    else if (it.k === 'if' && it.compare) out.push(it.compare);
    out.push(...opsOf(bodyOf(it)));
  }
  return out;
}

/** Which of popf, pushf and rdmode a body contains (directly or as a self-modifying patch). */
export function sensitiveIn(items: readonly Item[]): string[] {
  const names = new Set(opsOf(items).map((o) => o.name));
  return SENSITIVE_UNPRIVILEGED.filter((n) => names.has(n));
}

/** Every mnemonic a program's assembly contains (generated code only). */
export function mnemonicsOf(p: Program): Set<string> {
  const names = new Set<string>();
  const bodies = [renderBody(p.supervisor, new Labels()), renderBody(p.user, new Labels())];
  for (const line of bodies.flatMap((b) => [...b.lines, ...b.subs])) {
    const m = /^\s*(?:[A-Za-z_][\w]*:\s*)*([a-z]+)\b/.exec(line);
    if (m && insnByName(m[1])) names.add(m[1]);
  }
  return names;
}

class Labels {
  private n = 0;
  next(prefix: string): string {
    return `${prefix}${this.n++}`;
  }
}

interface Rendered {
  lines: string[];
  /** Subroutines, emitted after the body. */
  subs: string[];
}

const I = (text: string): string => `        ${text}`;
const L = (label: string, text = ''): string => (text ? `${`${label}:`.padEnd(8)}${text}` : `${label}:`);

function regionAddress(region: Region, offset: number): number {
  return (REGION_BASE[region] + offset) >>> 0;
}

/** Render a flat item. */
function renderFlat(it: FlatItem, labels: Labels, out: string[]): void {
  switch (it.k) {
    case 'op':
      out.push(I(opText(it.op)));
      return;
    case 'li':
      out.push(I(`li   ${R(it.rd)}, ${hex(it.value)}`));
      return;
    case 'mem': {
      const addr = regionAddress(it.region, it.offset);
      const disp = it.disp === 0 ? '' : it.disp < 0 ? ` - ${-it.disp}` : ` + ${it.disp}`;
      out.push(I(`li   ${R(it.base)}, ${hex((addr - it.disp) >>> 0)}`));
      out.push(I(`${it.name} ${R(it.rd)}, [${R(it.base)}${disp}]   ; ${it.region} ${hex(addr)}`));
      return;
    }
    case 'out':
      out.push(I(`li   ${R(it.reg)}, ${hex(it.value)}`), I(`out  ${hex(it.port)}, ${R(it.reg)}`));
      return;
    case 'mtcr':
      out.push(I(`li   ${R(it.reg)}, ${hex(it.value)}`), I(`mtcr ${crName(it.cr)}, ${R(it.reg)}`));
      return;
    case 'invlpg':
      out.push(I(`li   ${R(it.reg)}, ${hex(it.addr)}`), I(`invlpg ${R(it.reg)}`));
      return;
    case 'iret': {
      const cont = labels.next('ret');
      out.push(
        I('push sp                    ; frame: SP after the iret = sp now'),
        I(`movi ${R(it.reg)}, 0`),
        I(`push ${R(it.reg)}                   ; MODE supervisor`),
        I(`li   ${R(it.reg)}, ${hex(it.flags)}`),
        I(`push ${R(it.reg)}                   ; FLAGS`),
        I(`li   ${R(it.reg)}, ${cont}`),
        I(`push ${R(it.reg)}                   ; PC`),
        I('iret'),
        L(cont),
      );
      return;
    }
    case 'disk': {
      const r = R(it.reg);
      const set = (port: number, value: number | string): void => {
        out.push(I(`li   ${r}, ${typeof value === 'number' ? hex(value) : value}`), I(`out  ${hex(port)}, ${r}`));
      };
      set(PORT_DISK_SECTOR, it.sector);
      set(PORT_DISK_ADDR, SANDBOX + it.offset);
      set(PORT_DISK_COUNT, it.count);
      set(PORT_DISK_IRQ, it.irq ? 1 : 0);
      set(PORT_DISK_CMD, it.write ? 2 : 1);
      if (it.poll) renderFlat({ k: 'wait', how: 'poll', reg: it.reg, reg2: it.reg2 }, labels, out);
      return;
    }
    case 'pte': {
      const entry = PT_A + (it.page / PAGE_SIZE) * 4;
      out.push(
        I(`li   ${R(it.reg)}, ${hex(entry)}         ; table A entry of ${hex(it.page)}`),
        I(`li   ${R(it.reg2)}, ${hex(it.frame | it.bits)}`),
        I(`stw  ${R(it.reg2)}, [${R(it.reg)}]`),
      );
      if (it.reload) out.push(I(`mfcr ${R(it.reg)}, ptbr`), I(`mtcr ptbr, ${R(it.reg)}          ; flush the TLB`));
      else out.push(I(`li   ${R(it.reg)}, ${hex(it.page)}`), I(`invlpg ${R(it.reg)}`));
      return;
    }
    case 'smc': {
      const site = labels.next('smc');
      const original = it.store === 'stw' ? 'nop' : opText(it.patch);
      const store =
        it.store === 'stw'
          ? [I(`li   ${R(it.reg)}, ${site}`), I(`li   ${R(it.reg2)}, ${hex(opWord(it.patch))}   ; ${opText(it.patch)}`), I(`stw  ${R(it.reg2)}, [${R(it.reg)}]`)]
          : [I(`li   ${R(it.reg)}, ${site}`), I(`movi ${R(it.reg2)}, ${it.byte}`), I(`stb  ${R(it.reg2)}, [${R(it.reg)}]        ; the low byte of the immediate`)];
      if (it.before) out.push(L(site, original), ...store);
      else out.push(...store, L(site, original));
      return;
    }
    case 'undef':
      out.push(I(`.word ${hex(((it.opcode << 24) | (it.low & 0xffffff)) >>> 0)}   ; undefined opcode ${hex(it.opcode)}`));
      return;
    case 'fetch': {
      const cont = labels.next('resume');
      const target =
        it.target === 'misaligned'
          ? `${cont} + ${1 + (it.offset % 3)}`
          : hex(
              (it.target === 'unmapped' ? UNMAPPED : it.target === 'user-page' ? POISON_USER : POISON_SUP) + (it.offset & 0xffc),
            );
      out.push(I(`li   r13, ${cont}`), I(`li   ${R(it.reg)}, ${target}     ; fetch fault: ${it.target}`), I(`${it.via} ${R(it.reg)}`), L(cont));
      return;
    }
    case 'wait': {
      if (it.how === 'hlt') {
        out.push(I('sti'), I('hlt                          ; wait for an interrupt'));
        return;
      }
      const top = labels.next('poll');
      const done = labels.next('ready');
      out.push(
        I(`movi ${R(it.reg2)}, 64`),
        L(top, `in   ${R(it.reg)}, ${hex(PORT_DISK_STATUS)}`),
        I(`cmpi ${R(it.reg)}, 1                ; busy?`),
        I(`bne  ${done}`),
        I(`addi ${R(it.reg2)}, ${R(it.reg2)}, -1`),
        I(`cmpi ${R(it.reg2)}, 0`),
        I(`bne  ${top}`),
        L(done),
      );
      return;
    }
    case 'spin': {
      const l = labels.next('spin');
      out.push(L(l, `jmp  ${l}`));
      return;
    }
  }
}

/** The table's return instruction (the jump that pops its target). */
const RET = SHAPES.find((s) => s.kind === 'jump' && s.pops)!.def.name;

/** A jump or call to a label: direct (`jmp label`), or through a register when the instruction takes one. */
function transfer(via: string, reg: number, label: string, out: string[]): void {
  if (insnByName(via)!.operands.includes('rs')) out.push(I(`li   ${R(reg)}, ${label}`), I(`${via} ${R(reg)}`));
  else out.push(I(`${via} ${label}`));
}

function renderItem(it: Item, labels: Labels, r: Rendered): void {
  const flat = (items: readonly FlatItem[], out: string[]): void => {
    for (const x of items) renderFlat(x, labels, out);
  };
  switch (it.k) {
    case 'if': {
      const skip = labels.next('endif');
      if (it.compare) r.lines.push(I(opText(it.compare)));
      r.lines.push(I(`${it.branch} ${skip}`));
      flat(it.body, r.lines);
      r.lines.push(L(skip));
      return;
    }
    case 'loop': {
      const top = labels.next('loop');
      r.lines.push(I(`movi r12, ${it.count}`), L(top));
      flat(it.body, r.lines);
      r.lines.push(I('addi r12, r12, -1'), I('cmpi r12, 0'), I(`bne  ${top}`));
      return;
    }
    case 'call': {
      const sub = labels.next('sub');
      transfer(it.via, it.reg, sub, r.lines);
      r.subs.push(L(sub));
      flat(it.body, r.subs);
      r.subs.push(I(RET));
      return;
    }
    case 'skip': {
      const over = labels.next('over');
      transfer(it.via, it.reg, over, r.lines);
      flat(it.body, r.lines);
      r.lines.push(L(over));
      return;
    }
    default:
      renderFlat(it, labels, r.lines);
  }
}

function renderBody(items: readonly Item[], labels: Labels): Rendered {
  const r: Rendered = { lines: [], subs: [] };
  for (const it of items) renderItem(it, labels, r);
  return r;
}

/** Handler code: count one event in KDATA (r1 = KDATA, r2 = the new count). */
const bump = (offset: number): string[] => [I(`li   r1, ${hex(KDATA)}`), I(`ldw  r2, [r1 + ${offset}]`), I('addi r2, r2, 1'), I(`stw  r2, [r1 + ${offset}]`)];
/** Handler code: restore r2 and r1 and return. */
const leave = [I('pop  r2'), I('pop  r1'), I('iret')];

/** The fixed part: prologue, handlers, vector table, page tables. */
function runtime(p: Program): string[] {
  const lines: string[] = [];
  const a = (...xs: string[]): void => {
    lines.push(...xs);
  };
  a(
    '; ---- runtime (fixed): prologue, handlers, vectors, page tables ----',
    '        .org 0',
    L('start', 'li   r1, vectors'),
    I('mtcr tvb, r1'),
    I(`li   r1, ${hex(KSP_VALUES[0])}`),
    I('mtcr ksp, r1                 ; kernel stack for exceptions from user mode'),
    I(`li   sp, ${hex(SUP_SP)}`),
    I(`li   r1, ${hex(PD_A)}`),
    I('mtcr ptbr, r1'),
    I(`li   r1, ${hex(SANDBOX)}`),
    I(`out  ${hex(PORT_DISK_ADDR)}, r1              ; disk DMA lands in the sandbox`),
  );
  if (p.paging) a(I('movi r1, 1'), I('mtcr ctrl, r1                ; paging on'));
  if (p.timer > 0) a(I(`li   r1, ${p.timer}`), I(`out  ${hex(PORT_TIMER_PERIOD)}, r1              ; timer every ${p.timer} instructions`));
  WRITABLE_REGS.forEach((reg, i) => a(I(`li   ${R(reg)}, ${hex(p.regs[i] ?? 0)}`)));
  a(I(`li   r13, ${hex(NO_CONTINUATION)}`));
  if (p.supervisorIF) a(I('sti'));
  a(I('jmp  sup_body'), '');

  // Fault handlers: one stub per fault vector, then the common part.
  const faults = [0, 6, 13, 14, 17];
  for (const v of faults) a(L(`fault${v}`, 'push r1'), I(`movi r1, ${v}`), I('jmp  fault'));
  a(
    L('fault', 'push r2'),
    I('push r3                      ; the frame is at sp + 12'),
    I(`li   r2, ${hex(KDATA)}`),
    I(`ldw  r3, [r2 + ${K_FAULTS}]`),
    I('addi r3, r3, 1'),
    I(`stw  r3, [r2 + ${K_FAULTS}]`),
    I(`cmpi r3, ${MAX_FAULTS}`),
    I('bgt  too_many_faults'),
    I(`stw  r1, [r2 + ${K_LAST_VECTOR}]`),
    I('mfcr r3, faultaddr'),
    I(`stw  r3, [r2 + ${K_LAST_ADDR}]`),
    I('mfcr r3, ecode'),
    I(`stw  r3, [r2 + ${K_LAST_CODE}]`),
    I('shli r3, r1, 2'),
    I('add  r3, r3, r2'),
    I(`ldw  r2, [r3 + ${K_BY_VECTOR}]`),
    I('addi r2, r2, 1'),
    I(`stw  r2, [r3 + ${K_BY_VECTOR}]`),
    I('ldw  r2, [sp + 12]           ; the faulting pc'),
    I('tsti r2, 3'),
    I('bne  fetch_fault             ; misaligned pc'),
    I(`cmpi r1, ${VEC_PAGE_FAULT}`),
    I('bne  1f'),
    I('mfcr r3, ecode'),
    I(`tsti r3, ${PF_FETCH}`),
    I('bne  fetch_fault             ; #PF on instruction fetch'),
    L('1', `li   r3, ${hex(SUP_CODE)}`),
    I('cmp  r2, r3'),
    I('bltu fetch_fault             ; pc outside the generated code'),
    I(`li   r3, ${hex(CODE_END)}`),
    I('cmp  r2, r3'),
    I('bgeu fetch_fault'),
    I('addi r2, r2, 4               ; resume after the faulting instruction'),
    I('stw  r2, [sp + 12]'),
    I('jmp  fault_return'),
    L('fetch_fault', `li   r3, ${hex(NO_CONTINUATION)}`),
    I('cmp  r13, r3'),
    I('beq  aborted                 ; a fetch fault nobody planned: stop'),
    I('stw  r13, [sp + 12]          ; resume at the continuation'),
    I('mov  r13, r3                 ; ... once'),
    L('fault_return', 'pop  r3'),
    ...leave,
    '',
    L('syscall_handler', 'push r1'),
    I(`li   r1, ${hex(EXIT_REQUEST)}`),
    I('cmp  r13, r1'),
    I('beq  exit_ok'),
    I('push r2'),
    ...bump(K_SYSCALLS),
    ...leave,
    '',
    L('timer_handler', 'push r1'),
    I('push r2'),
    ...bump(K_TICKS),
    I(`cmpi r2, ${MAX_TICKS}`),
    I('bgt  watchdog'),
    ...leave,
    '',
    L('disk_handler', 'push r1'),
    I('push r2'),
    ...bump(K_DISK),
    ...leave,
    '',
    L('exit_ok', `movi r1, ${EXIT_OK}`),
    I('jmp  power_off'),
    L('too_many_faults', `movi r1, ${EXIT_TOO_MANY_FAULTS}`),
    I('jmp  power_off'),
    L('aborted', `movi r1, ${EXIT_ABORT}`),
    I('jmp  power_off'),
    L('watchdog', `movi r1, ${EXIT_WATCHDOG}`),
    I('jmp  power_off'),
    L('unexpected', `movi r1, ${EXIT_UNEXPECTED_VECTOR}`),
    L('power_off', `out  ${hex(PORT_POWER)}, r1`),
    I('hlt'),
    '',
  );
  // The vector table: 256 words, 16 per line.
  const handler = (v: number): string => {
    if (faults.includes(v)) return `fault${v}`;
    if (v === VEC_SYSCALL) return 'syscall_handler';
    if (v === VEC_TIMER) return 'timer_handler';
    if (v === VEC_DISK) return 'disk_handler';
    return 'unexpected';
  };
  a(`        .org ${hex(VECTORS)}`, 'vectors:');
  for (let v = 0; v < NUM_VECTORS; v += 16) a(I(`.word ${Array.from({ length: 16 }, (_, i) => handler(v + i)).join(', ')}`));
  const table = (name: string, at: number, words: readonly number[]): void => {
    a(`        .org ${hex(at)}`, `${name}:`);
    for (let i = 0; i < words.length; i += 8) a(I(`.word ${words.slice(i, i + 8).map(hex).join(', ')}`));
  };
  table('page_dir_a', PD_A, [PT_A | 7]);
  table('page_table_a', PT_A, PAGE_TABLE_A);
  table('page_table_b', PT_B, PAGE_TABLE_B);
  table('page_dir_b', PD_B, [PT_B | 7]);
  return lines;
}

/** The whole program as assembly text (assembles to a bare-metal image of FUZZ_MEMORY_BYTES or less). */
export function renderProgram(p: Program): string {
  const labels = new Labels();
  const sup = renderBody(p.supervisor, labels);
  const user = renderBody(p.user, labels);
  const header = [
    `; virtstrat differential fuzzing: a generated bare-metal program (${FUZZ_MEMORY_BYTES / 1024} KiB of RAM: run with --memory ${FUZZ_MEMORY_BYTES})`,
    `; paging ${p.paging ? 'on' : 'off'}, timer ${p.timer > 0 ? `every ${p.timer} instructions` : 'off'}, ` +
      `supervisor IF ${p.supervisorIF ? 1 : 0}, user FLAGS ${hex(p.userFlags & FLAGS_MASK)}`,
  ];
  const body = [
    GENERATED_MARK,
    `        .org ${hex(SUP_CODE + p.supervisorOffset)}`,
    'sup_body:',
    ...sup.lines,
    '; enter user mode: iret with a hand-built frame',
    I(`li   r13, ${hex(USER_SP)}`),
    I('push r13                     ; SP'),
    I('movi r13, 1'),
    I('push r13                     ; MODE user'),
    I(`li   r13, ${hex(p.userFlags & FLAGS_MASK)}`),
    I('push r13                     ; FLAGS'),
    I('li   r13, user_body'),
    I('push r13                     ; PC'),
    I(`li   r13, ${hex(NO_CONTINUATION)}`),
    I('iret'),
    ...sup.subs,
    `        .assert . <= ${hex(USER_CODE)}, "the supervisor code does not fit in its pages"`,
    '; ---- generated user code ----',
    `        .org ${hex(USER_CODE + p.userOffset)}`,
    'user_body:',
    ...user.lines,
    I(`li   r13, ${hex(EXIT_REQUEST)}`),
    I('syscall                      ; exit'),
    ...user.subs,
    `        .assert . <= ${hex(CODE_END)}, "the user code does not fit in its pages"`,
  ];
  return [...header, ...runtime(p), ...body, ''].join('\n');
}

/** The header and the generated code only (for short failure reports): the runtime is the same in every program. */
export function renderGenerated(p: Program): string {
  const full = renderProgram(p);
  const lines = full.split('\n');
  return [...lines.slice(0, 2), '; (the runtime: prologue, handlers, vectors, page tables — see the full file)', ...lines.slice(lines.indexOf(GENERATED_MARK))].join('\n');
}

const GENERATED_MARK = '; ---- generated supervisor code ----';

