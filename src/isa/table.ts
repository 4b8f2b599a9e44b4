/**
 * THE instruction table of the VS32 guest ISA.
 *
 * One entry per instruction: mnemonic, opcode, operand syntax, privilege and sensitivity class, and its
 * semantics written once as an emitter function. Everything else is derived from this table:
 *   - the decoder and encoder (src/isa/encoding.ts),
 *   - the assembler's operand parsing and the disassembler (src/asm, src/isa/disasm.ts),
 *   - the privilege check inserted by the code generators (from `privileged`),
 *   - the Popek–Goldberg classification (from `privileged`, `traps` and `sensitive`),
 *   - the hot interpreter and the block compiler (src/hw/codegen*.ts call `exec` with their own `Emit`).
 *
 * An `exec` function returns JavaScript source. It never touches state directly: it asks the emitter for
 * register reads and writes, memory accesses, control flow and system operations, so that an interpreter
 * (fields decoded at run time) and a translator (fields spliced in as validated integers) produce the same
 * behaviour from the same text.
 */
import {
  FLAG_IF,
  IF_SHIFT,
  MODE_SUPERVISOR,
  VEC_DIVIDE,
  VEC_INVALID_OPCODE,
  VEC_SYSCALL,
  type IsaVariant,
} from './arch.js';

/** Register fields of the 32-bit instruction word: rd = bits 23..20, rs = 19..16, rt = 15..12. */
export type RegField = 'rd' | 'rs' | 'rt';

/**
 * How the low bits of the word are read as an immediate.
 * s16: bits 15..0 sign-extended; u16: zero-extended; u5: shift count 0..31 in bits 4..0;
 * off24: bits 23..0 sign-extended, a word offset from the next instruction (branches).
 */
export type ImmKind = 's16' | 'u16' | 'u5' | 'off24';

/**
 * Operand syntax, in assembly order.
 * rd/rs/rt: a register in that field; imm: an immediate (see `imm`); port: an I/O port number (u16);
 * mem: `[rs + s16]`; target: a code address encoded as off24; crd/crs: a control register `crN` in the rd/rs field.
 */
export type OperandKind = 'rd' | 'rs' | 'rt' | 'imm' | 'port' | 'mem' | 'target' | 'crd' | 'crs';

/** Condition codes for the branch instructions, evaluated from the flags of the last compare. */
export type Cond = 'eq' | 'ne' | 'lt' | 'ge' | 'gt' | 'le' | 'ltu' | 'geu' | 'gtu' | 'leu';

/** When an instruction traps with #GP in user mode. `classic` = only in the classically virtualizable variant. */
export type PrivilegeRule = 'never' | 'always' | 'classic';

/**
 * System operations too large to inline: implemented once in src/hw/system.ts and called by every
 * generator. They may fault, change mode, flush the TLB, cause a VM exit or stop the machine.
 */
export type SystemOp = 'hlt' | 'iret' | 'in' | 'out' | 'mfcr' | 'mtcr' | 'invlpg' | 'vmcall';

/**
 * What an instruction's semantics can ask for. Every method returns JavaScript source text.
 * Generators implement it; `exec` functions only compose it.
 */
export interface Emit {
  /** The value of a register field (an int32 expression). */
  r(field: RegField): string;
  /** Statement: write an int32 expression to a register field. */
  set(field: RegField, expr: string): string;
  /** The decoded immediate (per the entry's `imm` kind). */
  readonly imm: string;
  /** Address of the next instruction. */
  readonly next: string;
  /** Branch target (next + 4 * off24), for entries with a `target` operand. */
  readonly target: string;
  /** Statement: the instruction retires and control continues at `expr`. Must be the last statement. */
  jump(expr: string): string;
  /** Statement: retire; continue at `target` if the condition holds, else at `next`. Must be last. */
  branch(cond: Cond): string;
  /** Statement: the condition flags become those of the subtraction a - b (lazy: operands are kept). */
  compare(a: string, b: string): string;
  /** The current FLAGS register value (condition flags and IF) as an expression. */
  flags(): string;
  /** Statement: set the condition flags from an explicit FLAGS value (IF is not touched). */
  setConditionFlags(expr: string): string;
  /** Expression: the current privilege mode (0 supervisor, 1 user) of the CPU running this code. */
  readonly mode: string;
  /**
   * Statement: set IF to (expr & 1); reports back to the run loop if an interrupt may now be deliverable.
   * With `shadow`, turning IF on holds interrupts off for one more instruction (x86's STI interrupt shadow).
   */
  setIF(expr: string, shadow?: boolean): string;
  /** Statement: an unprivileged sensitive instruction ran in user mode (fidelity oracle hook). */
  audit(detail: string): string;
  /** Statement: load a 32-bit word (aligned) or a byte (zero-extended) into a register. May fault. */
  load(size: 4 | 1, dest: RegField, ea: string): string;
  /** Statement: store the low 32 bits or the low byte of `value`. May fault. */
  store(size: 4 | 1, ea: string, value: string): string;
  /** Statement: push a value on the stack (sp -= 4, then store). May fault, leaving sp unchanged. */
  push(value: string): string;
  /** Statement: pop into a register field or into the temporary `t`. May fault, leaving sp unchanged. */
  pop(dest: RegField | 't'): string;
  /** Statement: the instruction does not retire and raises exception `vector` (a fault). Must end control. */
  fault(vector: number, errorCode?: string): string;
  /** Statement: the instruction retires, then exception `vector` is raised with return address `next`. Must be last. */
  trap(vector: number): string;
  /** Statement: run a system operation (src/hw/system.ts). Must be last. */
  system(op: SystemOp): string;
}

/** Popek–Goldberg sensitivity, declared with the reason (checked empirically by the classifier). */
export interface Sensitivity {
  /** Changes the mode, IF, control registers, devices or the memory map. */
  readonly control?: string;
  /** Its result depends on the mode, IF or the memory map. */
  readonly behaviour?: string;
}

export interface InsnDef {
  readonly name: string;
  readonly opcode: number;
  readonly operands: readonly OperandKind[];
  /** How the immediate field is read, if the instruction has one. */
  readonly imm?: ImmKind;
  readonly privileged: PrivilegeRule;
  /** Always raises an exception, in every mode (syscall, and vmcall outside VMX non-root). */
  readonly traps?: boolean;
  readonly sensitive?: Sensitivity;
  /** Ends a basic block: changes control flow, or changes state the translator specializes on. */
  readonly endsBlock?: boolean;
  /**
   * Moves the stack pointer by one word without naming it: `push` stores below sp (sp -= 4), `pop` loads at sp
   * (sp += 4). (VMMs that emulate an instruction need to know it touches the stack; iret's frame is not one word.)
   */
  readonly stack?: 'push' | 'pop';
  readonly summary: string;
  readonly exec: (e: Emit) => string;
}

const IF_BIT = `${IF_SHIFT}`;

const alu3 = (name: string, opcode: number, summary: string, expr: (a: string, b: string) => string): InsnDef => ({
  name,
  opcode,
  operands: ['rd', 'rs', 'rt'],
  privileged: 'never',
  summary,
  exec: (e) => e.set('rd', expr(e.r('rs'), e.r('rt'))),
});

const aluImm = (
  name: string,
  opcode: number,
  imm: ImmKind,
  summary: string,
  expr: (a: string, i: string) => string,
): InsnDef => ({
  name,
  opcode,
  operands: ['rd', 'rs', 'imm'],
  imm,
  privileged: 'never',
  summary,
  exec: (e) => e.set('rd', expr(e.r('rs'), e.imm)),
});

/** A division: faults with #DE when the divisor is zero (INT_MIN / -1 gives INT_MIN, no fault). */
const divide = (name: string, opcode: number, summary: string, expr: (a: string, b: string) => string): InsnDef => ({
  name,
  opcode,
  operands: ['rd', 'rs', 'rt'],
  privileged: 'never',
  summary,
  exec: (e) => `if (${e.r('rt')} === 0) { ${e.fault(VEC_DIVIDE)} } ${e.set('rd', expr(e.r('rs'), e.r('rt')))}`,
});

const branch = (name: string, opcode: number, cond: Cond, summary: string): InsnDef => ({
  name,
  opcode,
  operands: ['target'],
  imm: 'off24',
  privileged: 'never',
  endsBlock: true,
  summary,
  exec: (e) => e.branch(cond),
});

const system = (
  name: string,
  opcode: number,
  operands: readonly OperandKind[],
  op: SystemOp,
  summary: string,
  sensitive: Sensitivity,
  imm?: ImmKind,
): InsnDef => ({
  name,
  opcode,
  operands,
  ...(imm ? { imm } : {}),
  privileged: 'always',
  sensitive,
  endsBlock: true,
  summary,
  exec: (e) => e.system(op),
});

export const INSTRUCTIONS: readonly InsnDef[] = [
  // --- ALU, register operands -------------------------------------------------------------
  alu3('add', 0x01, 'rd = rs + rt', (a, b) => `(${a} + ${b}) | 0`),
  alu3('sub', 0x02, 'rd = rs - rt', (a, b) => `(${a} - ${b}) | 0`),
  alu3('and', 0x03, 'rd = rs & rt', (a, b) => `${a} & ${b}`),
  alu3('or', 0x04, 'rd = rs | rt', (a, b) => `${a} | ${b}`),
  alu3('xor', 0x05, 'rd = rs ^ rt', (a, b) => `${a} ^ ${b}`),
  alu3('shl', 0x06, 'rd = rs << (rt & 31)', (a, b) => `${a} << (${b} & 31)`),
  alu3('shr', 0x07, 'rd = rs >>> (rt & 31) (logical)', (a, b) => `(${a} >>> (${b} & 31)) | 0`),
  alu3('sar', 0x08, 'rd = rs >> (rt & 31) (arithmetic)', (a, b) => `${a} >> (${b} & 31)`),
  alu3('mul', 0x09, 'rd = low 32 bits of rs * rt', (a, b) => `Math.imul(${a}, ${b})`),
  divide('div', 0x0a, 'rd = rs / rt, signed, truncating; #DE if rt = 0', (a, b) => `(${a} / ${b}) | 0`),
  divide('divu', 0x0b, 'rd = rs / rt, unsigned; #DE if rt = 0', (a, b) => `((${a} >>> 0) / (${b} >>> 0)) | 0`),
  divide('rem', 0x0c, 'rd = rs % rt, signed (sign of rs); #DE if rt = 0', (a, b) => `(${a} % ${b}) | 0`),
  divide('remu', 0x0d, 'rd = rs % rt, unsigned; #DE if rt = 0', (a, b) => `((${a} >>> 0) % (${b} >>> 0)) | 0`),
  {
    name: 'mov',
    opcode: 0x0e,
    operands: ['rd', 'rs'],
    privileged: 'never',
    summary: 'rd = rs',
    exec: (e) => e.set('rd', e.r('rs')),
  },
  {
    name: 'not',
    opcode: 0x0f,
    operands: ['rd', 'rs'],
    privileged: 'never',
    summary: 'rd = ~rs',
    exec: (e) => e.set('rd', `~${e.r('rs')}`),
  },
  {
    name: 'neg',
    opcode: 0x10,
    operands: ['rd', 'rs'],
    privileged: 'never',
    summary: 'rd = -rs',
    exec: (e) => e.set('rd', `(-${e.r('rs')}) | 0`),
  },

  // --- ALU, immediate operands ------------------------------------------------------------
  aluImm('addi', 0x11, 's16', 'rd = rs + sext(imm16)', (a, i) => `(${a} + ${i}) | 0`),
  aluImm('andi', 0x12, 'u16', 'rd = rs & zext(imm16)', (a, i) => `${a} & ${i}`),
  aluImm('ori', 0x13, 'u16', 'rd = rs | zext(imm16)', (a, i) => `${a} | ${i}`),
  aluImm('xori', 0x14, 'u16', 'rd = rs ^ zext(imm16)', (a, i) => `${a} ^ ${i}`),
  aluImm('shli', 0x15, 'u5', 'rd = rs << imm5', (a, i) => `${a} << ${i}`),
  aluImm('shri', 0x16, 'u5', 'rd = rs >>> imm5 (logical)', (a, i) => `(${a} >>> ${i}) | 0`),
  aluImm('sari', 0x17, 'u5', 'rd = rs >> imm5 (arithmetic)', (a, i) => `${a} >> ${i}`),
  aluImm('muli', 0x18, 's16', 'rd = low 32 bits of rs * sext(imm16)', (a, i) => `Math.imul(${a}, ${i})`),
  {
    name: 'movi',
    opcode: 0x19,
    operands: ['rd', 'imm'],
    imm: 's16',
    privileged: 'never',
    summary: 'rd = sext(imm16)',
    exec: (e) => e.set('rd', e.imm),
  },
  {
    name: 'lui',
    opcode: 0x1a,
    operands: ['rd', 'imm'],
    imm: 'u16',
    privileged: 'never',
    summary: 'rd = imm16 << 16 (with ori: any 32-bit constant; see the `li` pseudo-instruction)',
    exec: (e) => e.set('rd', `${e.imm} << 16`),
  },

  // --- Compare and test: the only instructions that set the condition flags -----------------
  {
    name: 'cmp',
    opcode: 0x20,
    operands: ['rs', 'rt'],
    privileged: 'never',
    summary: 'flags = flags of rs - rt',
    exec: (e) => e.compare(e.r('rs'), e.r('rt')),
  },
  {
    name: 'cmpi',
    opcode: 0x21,
    operands: ['rs', 'imm'],
    imm: 's16',
    privileged: 'never',
    summary: 'flags = flags of rs - sext(imm16)',
    exec: (e) => e.compare(e.r('rs'), e.imm),
  },
  {
    name: 'tst',
    opcode: 0x22,
    operands: ['rs', 'rt'],
    privileged: 'never',
    summary: 'flags = flags of (rs & rt) - 0 (ZF, SF from the AND; CF = OF = 0)',
    exec: (e) => e.compare(`${e.r('rs')} & ${e.r('rt')}`, '0'),
  },
  {
    name: 'tsti',
    opcode: 0x23,
    operands: ['rs', 'imm'],
    imm: 'u16',
    privileged: 'never',
    summary: 'flags = flags of (rs & zext(imm16)) - 0',
    exec: (e) => e.compare(`${e.r('rs')} & ${e.imm}`, '0'),
  },

  // --- Memory -------------------------------------------------------------------------
  {
    name: 'ldw',
    opcode: 0x28,
    operands: ['rd', 'mem'],
    imm: 's16',
    privileged: 'never',
    summary: 'rd = word at [rs + sext(imm16)] (4-byte aligned, else #AC)',
    exec: (e) => e.load(4, 'rd', `(${e.r('rs')} + ${e.imm}) | 0`),
  },
  {
    name: 'ldb',
    opcode: 0x29,
    operands: ['rd', 'mem'],
    imm: 's16',
    privileged: 'never',
    summary: 'rd = zero-extended byte at [rs + sext(imm16)]',
    exec: (e) => e.load(1, 'rd', `(${e.r('rs')} + ${e.imm}) | 0`),
  },
  {
    name: 'stw',
    opcode: 0x2a,
    operands: ['rd', 'mem'],
    imm: 's16',
    privileged: 'never',
    summary: 'word at [rs + sext(imm16)] = rd (4-byte aligned, else #AC)',
    exec: (e) => e.store(4, `(${e.r('rs')} + ${e.imm}) | 0`, e.r('rd')),
  },
  {
    name: 'stb',
    opcode: 0x2b,
    operands: ['rd', 'mem'],
    imm: 's16',
    privileged: 'never',
    summary: 'byte at [rs + sext(imm16)] = low byte of rd',
    exec: (e) => e.store(1, `(${e.r('rs')} + ${e.imm}) | 0`, e.r('rd')),
  },
  {
    name: 'push',
    opcode: 0x2c,
    operands: ['rs'],
    privileged: 'never',
    stack: 'push',
    summary: 'sp -= 4; word at [sp] = rs (the value of rs before the decrement)',
    exec: (e) => e.push(e.r('rs')),
  },
  {
    name: 'pop',
    opcode: 0x2d,
    operands: ['rd'],
    privileged: 'never',
    stack: 'pop',
    summary: 'rd = word at [sp]; sp += 4 (pop sp loads the popped value)',
    exec: (e) => e.pop('rd'),
  },

  // --- Control flow -----------------------------------------------------------------------
  {
    name: 'jmp',
    opcode: 0x30,
    operands: ['target'],
    imm: 'off24',
    privileged: 'never',
    endsBlock: true,
    summary: 'pc = target',
    exec: (e) => e.jump(e.target),
  },
  {
    name: 'call',
    opcode: 0x31,
    operands: ['target'],
    imm: 'off24',
    privileged: 'never',
    endsBlock: true,
    stack: 'push',
    summary: 'push address of next instruction; pc = target',
    exec: (e) => `${e.push(e.next)} ${e.jump(e.target)}`,
  },
  {
    name: 'ret',
    opcode: 0x32,
    operands: [],
    privileged: 'never',
    endsBlock: true,
    stack: 'pop',
    summary: 'pc = pop',
    exec: (e) => `${e.pop('t')} ${e.jump('t')}`,
  },
  {
    name: 'jmpr',
    opcode: 0x33,
    operands: ['rs'],
    privileged: 'never',
    endsBlock: true,
    summary: 'pc = rs',
    exec: (e) => e.jump(e.r('rs')),
  },
  {
    name: 'callr',
    opcode: 0x34,
    operands: ['rs'],
    privileged: 'never',
    endsBlock: true,
    stack: 'push',
    summary: 'push address of next instruction; pc = rs (the value before the push)',
    exec: (e) => `t = ${e.r('rs')}; ${e.push(e.next)} ${e.jump('t')}`,
  },
  branch('beq', 0x35, 'eq', 'branch if equal (ZF)'),
  branch('bne', 0x36, 'ne', 'branch if not equal (!ZF)'),
  branch('blt', 0x37, 'lt', 'branch if less, signed (SF != OF)'),
  branch('bge', 0x38, 'ge', 'branch if greater or equal, signed (SF == OF)'),
  branch('bgt', 0x39, 'gt', 'branch if greater, signed (!ZF and SF == OF)'),
  branch('ble', 0x3a, 'le', 'branch if less or equal, signed (ZF or SF != OF)'),
  branch('bltu', 0x3b, 'ltu', 'branch if below, unsigned (CF)'),
  branch('bgeu', 0x3c, 'geu', 'branch if above or equal, unsigned (!CF)'),
  branch('bgtu', 0x3d, 'gtu', 'branch if above, unsigned (!CF and !ZF)'),
  branch('bleu', 0x3e, 'leu', 'branch if below or equal, unsigned (CF or ZF)'),

  // --- Traps ------------------------------------------------------------------------------
  {
    name: 'syscall',
    opcode: 0x40,
    operands: [],
    privileged: 'never',
    traps: true,
    sensitive: { control: 'enters supervisor mode (always through an exception, so a VMM sees it)' },
    endsBlock: true,
    summary: `retire, then raise vector 0x${VEC_SYSCALL.toString(16)} (return address = next instruction)`,
    exec: (e) => e.trap(VEC_SYSCALL),
  },
  {
    name: 'vmcall',
    opcode: 0x41,
    operands: [],
    privileged: 'never',
    traps: true,
    sensitive: { control: 'calls the hypervisor (always through an exception or a VM exit)' },
    endsBlock: true,
    summary: `hypercall: VM exit (reason 18) in VMX non-root operation; #UD (vector ${VEC_INVALID_OPCODE}) otherwise`,
    exec: (e) => e.system('vmcall'),
  },

  // --- Privileged: #GP (vector 13) in user mode ----------------------------------------------
  {
    name: 'cli',
    opcode: 0x42,
    operands: [],
    privileged: 'always',
    sensitive: { control: 'clears IF' },
    summary: 'IF = 0',
    exec: (e) => e.setIF('0'),
  },
  {
    name: 'sti',
    opcode: 0x43,
    operands: [],
    privileged: 'always',
    sensitive: { control: 'sets IF' },
    endsBlock: true,
    summary: 'IF = 1; interrupts are taken after the next instruction (so `sti; hlt` cannot miss a wakeup)',
    exec: (e) => e.setIF('1', true),
  },
  system('hlt', 0x44, [], 'hlt', 'halt until an interrupt (IF = 0 and nothing pending: the machine stops)', {
    control: 'stops the processor',
  }),
  system('iret', 0x45, [], 'iret', 'pop PC, FLAGS, MODE, SP (the exception frame); return from an exception', {
    control: 'changes the mode and IF',
  }),
  system('in', 0x46, ['rd', 'port'], 'in', 'rd = read from I/O port imm16', { control: 'accesses a device' }, 'u16'),
  system('out', 0x47, ['port', 'rs'], 'out', 'write rs to I/O port imm16', { control: 'accesses a device' }, 'u16'),
  system('mfcr', 0x48, ['rd', 'crs'], 'mfcr', 'rd = control register crN (#UD for an undefined N)', {
    behaviour: 'reads privileged state (page-table base, fault address, ...)',
  }),
  system('mtcr', 0x49, ['crd', 'rs'], 'mtcr', 'control register crN = rs (#UD for an undefined N)', {
    control: 'changes paging, the page-table base, the trap vectors or the interrupt priority',
  }),
  system('invlpg', 0x4a, ['rs'], 'invlpg', 'invalidate the TLB entry for virtual address rs', {
    control: 'changes the memory map seen by the processor',
  }),

  // --- Sensitive but (on the default ISA) not privileged: the x86 popf problem ---------------------
  {
    name: 'pushf',
    opcode: 0x4b,
    operands: [],
    privileged: 'classic',
    sensitive: { behaviour: 'pushes the real IF, revealing the processor state' },
    stack: 'push',
    summary: 'push FLAGS (condition flags and the real IF)',
    exec: (e) => `${e.push(e.flags())} if (${e.mode} !== ${MODE_SUPERVISOR}) { ${e.audit('0')} }`,
  },
  {
    name: 'popf',
    opcode: 0x4c,
    operands: [],
    privileged: 'classic',
    sensitive: {
      control: 'writes IF in supervisor mode',
      behaviour: 'in user mode silently leaves IF unchanged instead of trapping',
    },
    endsBlock: true,
    stack: 'pop',
    summary: 'pop FLAGS; the IF bit is written in supervisor mode and silently ignored in user mode',
    exec: (e) =>
      `${e.pop('t')} ${e.setConditionFlags('t')} ` +
      `if (${e.mode} === ${MODE_SUPERVISOR}) { ${e.setIF(`t >> ${IF_BIT}`)} } ` +
      `else { ${e.audit(`t & ${FLAG_IF}`)} }`,
  },
  {
    name: 'rdmode',
    opcode: 0x4d,
    operands: ['rd'],
    privileged: 'classic',
    sensitive: { behaviour: 'reveals the current mode (like x86 SMSW or pushing CS)' },
    summary: 'rd = current mode (0 supervisor, 1 user)',
    exec: (e) => `${e.set('rd', e.mode)} if (${e.mode} !== ${MODE_SUPERVISOR}) { ${e.audit(e.mode)} }`,
  },
  {
    name: 'nop',
    opcode: 0x4f,
    operands: [],
    privileged: 'never',
    summary: 'no operation',
    exec: () => '',
  },
];

/** Opcode 0x00 is deliberately undefined, so that running zeroed memory raises #UD at once. */
export const UNDEFINED_OPCODE_EXAMPLE = 0x00;

const byName = new Map<string, InsnDef>();
const byOpcode: (InsnDef | undefined)[] = new Array<InsnDef | undefined>(256).fill(undefined);
for (const d of INSTRUCTIONS) {
  if (byName.has(d.name)) throw new Error(`instruction table: duplicate mnemonic ${d.name}`);
  if (byOpcode[d.opcode]) throw new Error(`instruction table: duplicate opcode 0x${d.opcode.toString(16)}`);
  if (d.opcode <= 0 || d.opcode > 0xfe) throw new Error(`instruction table: opcode of ${d.name} out of range`);
  byName.set(d.name, d);
  byOpcode[d.opcode] = d;
}

export function insnByName(name: string): InsnDef | undefined {
  return byName.get(name.toLowerCase());
}

/** The opcode of a mnemonic that must exist (for code that names specific instructions). */
export function opcodeOf(name: string): number {
  const d = byName.get(name);
  if (!d) throw new Error(`no instruction '${name}' in the table`);
  return d.opcode;
}

export function insnByOpcode(opcode: number): InsnDef | undefined {
  return byOpcode[opcode & 0xff];
}

/** Does this instruction raise #GP in user mode on the given ISA variant? */
export function isPrivileged(d: InsnDef, variant: IsaVariant): boolean {
  return d.privileged === 'always' || (d.privileged === 'classic' && variant === 'classic');
}

/** The Popek–Goldberg class declared by the table for a variant. */
export type PgClass = 'innocuous' | 'privileged' | 'sensitive-unprivileged' | 'trapping';

export function declaredClass(d: InsnDef, variant: IsaVariant): PgClass {
  if (isPrivileged(d, variant)) return 'privileged';
  if (d.traps) return 'trapping';
  if (d.sensitive) return 'sensitive-unprivileged';
  return 'innocuous';
}
