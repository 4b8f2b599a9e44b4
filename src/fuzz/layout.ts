/**
 * The memory map of a generated program (128 KiB of guest RAM, one 4 KiB page per role) and its page tables.
 *
 * Every page has one role, so a generated access can aim at a page whose protection it wants to test: the
 * sandbox (user read/write), a read-only page, a supervisor-only page, a page that is not present, the two
 * stacks, the code pages (user code is writable, for self-modifying stores). A second set of page tables (B)
 * swaps two data pages, so a `mtcr ptbr` switch changes what the same virtual address means. The kernel's code
 * and vectors are read-only and no generated store reaches them, the page tables or the code (except through
 * the self-modifying construct): a generated program can break itself only in ways every engine must agree on.
 */
import { PAGE_SIZE, PTE_P, PTE_U, PTE_W } from '../isa/arch.js';

export const FUZZ_MEMORY_BYTES = 0x20000;

/** Kernel code: the prologue, the handlers and the exits (supervisor only, read-only). */
export const KCODE = 0x0000;
/** The trap-vector table (256 words; supervisor only, read-only). */
export const VECTORS = 0x1000;
/** The handlers' counters. */
export const KDATA = 0x2000;
export const PD_A = 0x3000;
export const PT_A = 0x4000;
export const PT_B = 0x5000;
export const PD_B = 0x6000;
/**
 * Pages no generated store may reach, so they stay zero — opcode 0, undefined: a jump there faults at once (#UD,
 * or #PF where the page is not accessible), and no generated program ever executes data.
 */
export const POISON_SUP = 0x7000;
export const POISON_USER = 0x8000;
/** Not present in either page table (and zero underneath, for when paging is off). */
export const UNMAPPED = 0x9000;
/** Generated supervisor code: two pages, so a body may cross a page boundary. */
export const SUP_CODE = 0xa000;
/** Generated user code: two pages, user-accessible and writable (self-modifying stores). */
export const USER_CODE = 0xc000;
export const CODE_END = 0xe000;
export const SANDBOX = 0xe000;
export const READONLY = 0xf000;
export const SUPDATA = 0x10000;
export const USTACK = 0x11000;
export const KSTACK = 0x12000;

/** Initial stack pointers: the middle of each stack page, so unbalanced pushes and pops stay inside it. */
export const USER_SP = USTACK + 0x800;
export const SUP_SP = KSTACK + 0x800;
/** Kernel stack for exceptions from user mode (cr4), and the other values a generated `mtcr ksp` may choose. */
export const KSP_VALUES: readonly number[] = [KSTACK + 0xc00, KSTACK + 0xe00, KSTACK + 0xa00];

/** Offsets of the handlers' counters in KDATA. */
export const K_FAULTS = 0x00;
export const K_SYSCALLS = 0x04;
export const K_TICKS = 0x08;
export const K_DISK = 0x0c;
export const K_LAST_VECTOR = 0x10;
export const K_LAST_ADDR = 0x14;
export const K_LAST_CODE = 0x18;
/** Per-vector fault counts: KDATA + K_BY_VECTOR + 4 * vector (vectors 0..31). */
export const K_BY_VECTOR = 0x40;

/** After this many faults the program stops (exit code EXIT_TOO_MANY_FAULTS): a runaway cannot loop forever. */
export const MAX_FAULTS = 64;
/** After this many timer ticks the program stops (EXIT_WATCHDOG): a spin with interrupts on ends. */
export const MAX_TICKS = 64;

/** r13 holds the continuation of a generated fetch fault, or this value when there is none. */
export const NO_CONTINUATION = 0x0dead0ff;
/** r13 = EXIT_REQUEST and a syscall: the program is done. */
export const EXIT_REQUEST = 0x0e0e0e0e;

export const EXIT_OK = 0;
export const EXIT_ABORT = 0xab;
export const EXIT_TOO_MANY_FAULTS = 0xfa;
export const EXIT_WATCHDOG = 0xdd;
export const EXIT_UNEXPECTED_VECTOR = 0xee;

const PAGE = (addr: number): number => addr / PAGE_SIZE;

/** Page-table entries of table A, one per page of RAM (the identity map with each page's protection). */
function tableA(): number[] {
  const pte: number[] = [];
  const set = (addr: number, bits: number, frame = addr): void => {
    pte[PAGE(addr)] = (frame & ~(PAGE_SIZE - 1)) | bits;
  };
  const sup = PTE_P | PTE_W;
  const user = PTE_P | PTE_W | PTE_U;
  for (let p = 0; p < FUZZ_MEMORY_BYTES; p += PAGE_SIZE) set(p, sup);
  set(KCODE, PTE_P); // read-only even for the supervisor (W is enforced in both modes)
  set(VECTORS, PTE_P);
  set(POISON_USER, PTE_P | PTE_U);
  pte[PAGE(UNMAPPED)] = 0;
  set(USER_CODE, user);
  set(USER_CODE + PAGE_SIZE, user);
  set(SANDBOX, user);
  set(READONLY, PTE_P | PTE_U);
  set(USTACK, user);
  return pte;
}

/** Table B: table A with the sandbox and the read-only page swapped (a writable view of the read-only frame). */
function tableB(): number[] {
  const pte = tableA();
  pte[PAGE(SANDBOX)] = READONLY | PTE_P | PTE_W | PTE_U;
  pte[PAGE(READONLY)] = SANDBOX | PTE_P | PTE_U;
  return pte;
}

export const PAGE_TABLE_A: readonly number[] = tableA();
export const PAGE_TABLE_B: readonly number[] = tableB();

/** Data pages whose entry in table A a generated supervisor `pte` item may rewrite (then invlpg or reload). */
export const REMAPPABLE_PAGES: readonly number[] = [SANDBOX, READONLY, SUPDATA];
export const REMAP_BITS: readonly number[] = [0, PTE_P, PTE_P | PTE_W, PTE_P | PTE_U, PTE_P | PTE_W | PTE_U];

/** Memory regions a generated load or store may aim at. */
export type Region =
  | 'sandbox'
  | 'readonly'
  | 'supdata'
  | 'ustack'
  | 'kstack'
  /** Beyond the end of RAM: a page fault with paging on, a machine check with paging off. */
  | 'beyond'
  /** Loads only: the kernel (code, vectors, counters), the page tables, the poison pages, the generated code. */
  | 'kernel'
  | 'pagetable'
  | 'poison'
  | 'code';

export const REGION_BASE: Readonly<Record<Region, number>> = {
  sandbox: SANDBOX,
  readonly: READONLY,
  supdata: SUPDATA,
  ustack: USTACK,
  kstack: KSTACK,
  beyond: FUZZ_MEMORY_BYTES,
  kernel: KCODE,
  pagetable: PD_A,
  poison: POISON_SUP,
  code: SUP_CODE,
};

/** Size of each region, for offsets. */
export const REGION_SIZE: Readonly<Record<Region, number>> = {
  sandbox: PAGE_SIZE,
  readonly: PAGE_SIZE,
  supdata: PAGE_SIZE,
  ustack: PAGE_SIZE,
  // Not the top part: exception frames from user mode are pushed below ksp.
  kstack: 0xa00,
  beyond: 0x10000,
  kernel: 3 * PAGE_SIZE,
  pagetable: 4 * PAGE_SIZE,
  poison: 3 * PAGE_SIZE,
  code: CODE_END - SUP_CODE,
};

/** Regions a store may aim at (the others would corrupt the harness: kernel, page tables, poison, code). */
export const STORE_REGIONS: readonly Region[] = ['sandbox', 'readonly', 'supdata', 'ustack', 'kstack', 'beyond'];
export const LOAD_REGIONS: readonly Region[] = [...STORE_REGIONS, 'kernel', 'pagetable', 'poison', 'code'];
