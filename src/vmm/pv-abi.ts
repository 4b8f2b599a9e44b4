/**
 * The paravirtual interface, hypervisor side: hypercall numbers, the shared-info page layout and the page-table
 * bit the paravirtual kernel uses for ring compression. docs/paravirt.md is the prose version; the guest side is
 * the `.equ` block at the top of workloads/kernel/arch.s. A test (test/engines/paravirt.test.ts) checks that the
 * two agree, symbol by symbol, so the ABI cannot drift.
 */

export const HC_CONSOLE_WRITE = 0;
export const HC_SET_TRAP_TABLE = 1;
export const HC_STACK_SWITCH = 2;
export const HC_SET_TIMER = 3;
export const HC_IRET = 4;
export const HC_BLOCK = 5;
export const HC_MMU_UPDATE = 6;
export const HC_MMUEXT = 7;
export const HC_EVENT_CHECK = 8;
export const HC_PORT_IN = 9;
export const HC_PORT_OUT = 10;
export const HC_SHUTDOWN = 11;
export const HC_DISK_IO = 12;
export const HC_MULTICALL = 13;
export const HC_SET_SHARED = 14;

/** Hypercall names by number, as they appear in reasons ("8 HC_EVENT_CHECK") and in arch.s. */
export const HYPERCALL_NAMES: readonly string[] = [
  'HC_CONSOLE_WRITE',
  'HC_SET_TRAP_TABLE',
  'HC_STACK_SWITCH',
  'HC_SET_TIMER',
  'HC_IRET',
  'HC_BLOCK',
  'HC_MMU_UPDATE',
  'HC_MMUEXT',
  'HC_EVENT_CHECK',
  'HC_PORT_IN',
  'HC_PORT_OUT',
  'HC_SHUTDOWN',
  'HC_DISK_IO',
  'HC_MULTICALL',
  'HC_SET_SHARED',
];

/** The reason a hypercall is counted under: "<number> <NAME>", or "<number> unknown". */
export function hypercallReason(n: number): string {
  const name = n >= 0 && n < HYPERCALL_NAMES.length ? HYPERCALL_NAMES[n] : 'unknown';
  return `${n} ${name}`;
}

/** HC_MMUEXT operations. */
export const MMUEXT_INVLPG = 0;
export const MMUEXT_NEW_BASEPTR = 1;

/** Most entries one HC_MMU_UPDATE (and one HC_MULTICALL) may carry: the guest's queue size, MMU_BATCH_MAX. */
export const MMU_BATCH_MAX = 64;

/** Shared-info page: byte offsets of its fields. */
export const SH_MASK = 0;
export const SH_PENDING = 4;
export const SH_TPR = 8;
export const SH_CR2 = 12;
export const SH_ECODE = 16;
/** Bytes of the shared-info page the hypervisor uses. */
export const SH_SIZE = 20;

/** PTE bit 9 (ignored by the hardware): the paravirtual kernel's "kernel-only" mark for ring compression. */
export const PTE_KONLY = 0x200;

/** HC_DISK_IO request block: word offsets (bytes) of its fields. */
export const DISK_REQ_CMD = 0;
export const DISK_REQ_SECTOR = 4;
export const DISK_REQ_COUNT = 8;
export const DISK_REQ_BUFFER = 12;
export const DISK_REQ_STATUS = 16;

/** The result of a hypercall that failed validation (or an unknown number). */
export const HC_ERROR = -1;
