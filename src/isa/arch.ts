/**
 * Architectural constants of the virtstrat guest ISA ("VS32").
 *
 * Everything a program or an engine needs to agree on lives here: register names, FLAGS bits, modes,
 * control-register numbers, exception vectors, page-table bits and the I/O port map. docs/isa.md is the
 * prose version of this file; keep them in step.
 */

/** Number of general registers. r15 is the stack pointer by convention (alias `sp`), r14 the frame pointer (`fp`). */
export const NUM_REGS = 16;
export const SP = 15;
export const FP = 14;

/** Privilege modes. Stored in CpuState.mode and returned by `rdmode`. */
export const MODE_SUPERVISOR = 0;
export const MODE_USER = 1;
export type Mode = typeof MODE_SUPERVISOR | typeof MODE_USER;

/** FLAGS bits, at their x86 EFLAGS positions so students can carry intuition over. */
export const FLAG_CF = 1 << 0; // carry: unsigned borrow of the last compare
export const FLAG_ZF = 1 << 6; // zero
export const FLAG_SF = 1 << 7; // sign
export const FLAG_IF = 1 << 9; // interrupt enable
export const FLAG_OF = 1 << 11; // signed overflow
export const FLAGS_CONDITION_MASK = FLAG_CF | FLAG_ZF | FLAG_SF | FLAG_OF;
export const FLAGS_MASK = FLAGS_CONDITION_MASK | FLAG_IF;
export const IF_SHIFT = 9;

/** Control registers (numbers used by `mtcr`/`mfcr`). Any other number raises #UD. */
export const CR_CTRL = 0; // bit 0: PG (paging enable)
export const CR_TVB = 1; // trap-vector base: virtual address of a table of 256 handler addresses
export const CR_FAULTADDR = 2; // virtual address of the last page fault (x86 cr2)
export const CR_PTBR = 3; // physical address of the page directory (x86 cr3); writing flushes the TLB
export const CR_KSP = 4; // kernel stack pointer loaded on a user→supervisor transition (x86 TSS.esp0)
export const CR_ECODE = 5; // error code of the last exception
export const CR_TPR = 8; // task-priority register (x86 cr8): masks external interrupts with (vector >> 4) <= TPR
export const CTRL_PG = 1;
export const NUM_CRS = 16;
export const VALID_CRS: readonly number[] = [CR_CTRL, CR_TVB, CR_FAULTADDR, CR_PTBR, CR_KSP, CR_ECODE, CR_TPR];
export const CR_NAMES: Readonly<Record<number, string>> = {
  [CR_CTRL]: 'ctrl',
  [CR_TVB]: 'tvb',
  [CR_FAULTADDR]: 'faultaddr',
  [CR_PTBR]: 'ptbr',
  [CR_KSP]: 'ksp',
  [CR_ECODE]: 'ecode',
  [CR_TPR]: 'tpr',
};

/** Exception and interrupt vectors (x86 numbering where x86 has one). */
export const VEC_DIVIDE = 0; // #DE: div/divu/rem/remu by zero
export const VEC_INVALID_OPCODE = 6; // #UD: undefined opcode, bad control-register number, vmcall on bare metal
export const VEC_PRIVILEGE = 13; // #GP: privileged instruction in user mode
export const VEC_PAGE_FAULT = 14; // #PF: error code in cr5, address in cr2
export const VEC_ALIGNMENT = 17; // #AC: misaligned word access or misaligned PC
export const VEC_TIMER = 32; // external: the instruction-count timer (priority class 2)
export const VEC_DISK = 48; // external: block-device completion (priority class 3)
export const VEC_SYSCALL = 0x80; // `syscall`
export const NUM_VECTORS = 256;

export const VECTOR_NAMES: Readonly<Record<number, string>> = {
  [VEC_DIVIDE]: 'divide-error',
  [VEC_INVALID_OPCODE]: 'invalid-opcode',
  [VEC_PRIVILEGE]: 'privilege-violation',
  [VEC_PAGE_FAULT]: 'page-fault',
  [VEC_ALIGNMENT]: 'alignment-check',
  [VEC_TIMER]: 'timer',
  [VEC_DISK]: 'disk',
  [VEC_SYSCALL]: 'syscall',
};

export function vectorName(v: number): string {
  return VECTOR_NAMES[v] ?? `vector-${v}`;
}

/** Page-fault error code bits (in cr5), as on x86. */
export const PF_PROTECTION = 1; // 0: page not present; 1: present but access not permitted
export const PF_WRITE = 2;
export const PF_USER = 4;
export const PF_FETCH = 16;

/** Paging: two levels, 4 KiB pages, 10+10+12 bit split, as in 32-bit x86 without PAE. */
export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 1 << PAGE_SHIFT;
export const PAGE_MASK = PAGE_SIZE - 1;
export const PTE_P = 1; // present
export const PTE_W = 2; // writable (enforced in both modes)
export const PTE_U = 4; // user accessible
export const PTE_FRAME_MASK = ~PAGE_MASK;

/** The exception frame pushed on delivery, lowest address first (the new stack pointer points at PC). */
export const FRAME_PC = 0;
export const FRAME_FLAGS = 4;
export const FRAME_MODE = 8;
export const FRAME_SP = 12;
export const FRAME_SIZE = 16;

/** I/O ports. Reads of an unassigned port return 0xFFFFFFFF; writes to one are ignored. */
export const PORT_CONSOLE_DATA = 0x10; // out: one byte to the console
export const PORT_CONSOLE_STATUS = 0x11; // in: 1 (always ready)
export const PORT_TIMER_PERIOD = 0x20; // out: fire every N retired instructions from now (0 stops); in: N
export const PORT_TIMER_COUNT = 0x21; // in: number of times the timer has fired
export const PORT_DISK_SECTOR = 0x30; // out: first sector
export const PORT_DISK_ADDR = 0x31; // out: physical DMA address
export const PORT_DISK_COUNT = 0x32; // out: number of 512-byte sectors
export const PORT_DISK_CMD = 0x33; // out: 1 = read to memory, 2 = write from memory
export const PORT_DISK_STATUS = 0x34; // in: 0 ready, 1 busy, 2 error
export const PORT_DISK_IRQ = 0x35; // out: 1 = raise VEC_DISK on completion
export const PORT_DISK_SIZE = 0x36; // in: disk size in sectors
export const PORT_POWER = 0xf0; // out: power off with the written value as exit code
export const DISK_SECTOR_SIZE = 512;

/** ISA variants: `classic` makes popf, pushf and rdmode privileged, so the ISA is classically virtualizable. */
export const ISA_VARIANTS = ['default', 'classic'] as const;
export type IsaVariant = (typeof ISA_VARIANTS)[number];

/** Width of an instruction in bytes (fixed). */
export const INSN_BYTES = 4;
