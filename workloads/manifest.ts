/**
 * The workload manifest: every workload the suite measures, what it is for, how big it is, and exactly what
 * it must print.
 *
 * Expected outputs are computed here by independent TypeScript implementations of each algorithm (a sieve,
 * CRC-32, the matrix product, the generators), never by running the guest. Every workload's console output
 * is independent of timing by design — tasks print in a fixed order, and the only tick count printed
 * (critical-sections') is the number of ticks waited for, its scale — so an
 * engine that runs a modified guest (paravirt) can still be compared by its output.
 */

export interface WorkloadSpec {
  readonly name: string;
  /** One line: what the workload does. */
  readonly purpose: string;
  /** The virtualization cost it is meant to expose. */
  readonly exposes: string;
  /** The user program, relative to workloads/. */
  readonly program: string;
  readonly defaultScale: number;
  /** A small scale for --quick runs and tests. */
  readonly quickScale: number;
  /** What `scale` means. */
  readonly scaleUnit: string;
  /** Kernel build options (assembler defines), e.g. a faster timer. */
  readonly kernelOptions?: Readonly<Record<string, number>>;
  /** Adams & Agesen's name for the nanobenchmark this reproduces, if any. */
  readonly paper?: string;
  /** It exercises the MMU (page faults, page-table writes, address spaces): the report's memory section shows it. */
  readonly paging?: boolean;
  /** The exact console output at a scale. */
  expected(scale: number): string;
}

const hex8 = (v: number): string => `0x${(v >>> 0).toString(16).padStart(8, '0')}`;

/** Number of primes below n (plain sieve). */
export function primesBelow(n: number): number {
  const composite = new Uint8Array(n);
  let count = 0;
  for (let i = 2; i < n; i++) {
    if (composite[i]) continue;
    count++;
    for (let j = i * i; j < n; j += i) composite[j] = 1;
  }
  return count;
}

/** CRC-32/ISO-HDLC, bit by bit (no table, so it shares nothing with the guest's table-driven code). */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

function crcPattern(n: number): number {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (31 * i + 7) & 0xff;
  return crc32(b);
}

function matmulChecksum(n: number): number {
  const a = (i: number, j: number) => ((i + 2 * j) % 17) - 8;
  const b = (i: number, j: number) => ((3 * i + j) % 13) - 6;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let c = 0;
      for (let k = 0; k < n; k++) c = (c + Math.imul(a(i, k), b(k, j))) | 0;
      sum = (sum + Math.imul(c, i * n + j + 1)) | 0;
    }
  }
  return sum >>> 0;
}

const MULTITASK_TASKS = 4;
const MULTITASK_WORK = 2000;

function multitaskOutput(steps: number): string {
  const state = Array.from({ length: MULTITASK_TASKS }, (_, k) => 12345 + k);
  let out = '';
  for (let s = 1; s <= steps; s++) {
    for (let k = 0; k < MULTITASK_TASKS; k++) {
      for (let i = 0; i < MULTITASK_WORK; i++) state[k] = (Math.imul(state[k], 1103515245) + 12345) | 0;
      out += `task ${k} step ${s}: ${hex8(state[k])}\n`;
    }
  }
  return out;
}

function ioOutput(rounds: number): string {
  const words = 8 * 128;
  let checksum = 0;
  let out = '';
  for (let r = 0; r < rounds; r++) {
    const base = Math.imul(r, 0x01000193);
    for (let i = 0; i < words; i++) {
      const w = Math.imul(i, 0x9e3779b9 | 0) ^ base;
      checksum = ((checksum << 5) | (checksum >>> 27)) ^ w;
    }
    out += `round ${r}: wrote and read back 8 sectors from sector ${(r * 8) & 255}, verified\n`;
  }
  return `${out}words that differed: 0\nchecksum: ${hex8(checksum)}\n`;
}

function smcSum(n: number): number {
  let s = 0;
  for (let i = 1; i <= n; i++) s += i & 0x7fff;
  return s >>> 0;
}

function mixedOutput(scale: number): string {
  const n = 20000 * scale;
  const composite = new Uint8Array(n);
  let primes = 0;
  for (let i = 2; i < n; i++) {
    if (composite[i]) continue;
    primes++;
    for (let j = i * i; j < n; j += i) composite[j] = 1;
  }
  return (
    `primes: ${primes}\n` +
    `sieve crc32: ${hex8(crc32(composite))}\n` +
    `system calls: ${500 * scale}\n` +
    `pages touched: ${64 * scale}\n` +
    `disk sectors verified: ${scale}\n` +
    `divide faults skipped: ${50 * scale}\n`
  );
}

export const WORKLOADS: readonly WorkloadSpec[] = [
  {
    name: 'hello',
    purpose: 'one user task prints a line through the write system call',
    exposes: 'the fixed cost of booting the kernel: building page tables, installing vectors, starting a task',
    program: 'programs/hello.s',
    defaultScale: 1,
    quickScale: 1,
    scaleUnit: '(no effect)',
    expected: () => 'Hello from user mode!\n',
  },
  {
    name: 'syscall',
    purpose: 'a user loop of null system calls',
    exposes: 'the cost of entering and leaving the guest kernel: a VMM entry per call where the VMM sits in the path',
    program: 'programs/syscall.s',
    defaultScale: 20000,
    quickScale: 300,
    scaleUnit: 'system calls',
    paper: 'syscall',
    expected: (s) => `null system calls: ${s}\n`,
  },
  {
    name: 'in',
    purpose: 'the guest kernel reads an I/O port in a loop',
    exposes: 'the cost of emulating a device access: a trap, a VM exit (reason 30) or a callout per read',
    program: 'programs/in.s',
    defaultScale: 20000,
    quickScale: 300,
    scaleUnit: 'port reads',
    paper: 'in',
    expected: (s) => `console status port reads, summed: ${s}\n`,
  },
  {
    name: 'prio-write',
    purpose: 'the guest kernel writes the task-priority register (cr8) in a loop',
    exposes: 'control-register virtualization: a trap or exit per write, unless translated or shadowed',
    program: 'programs/prio-write.s',
    defaultScale: 20000,
    quickScale: 300,
    scaleUnit: 'register writes',
    paper: 'cr8wr',
    expected: (s) => `task-priority writes: ${s}\n`,
  },
  {
    name: 'call-ret',
    purpose: 'calls and returns in user mode',
    exposes: 'nothing on a good VMM (user code runs directly); the whole interpretation cost on an emulator',
    program: 'programs/call-ret.s',
    defaultScale: 200000,
    quickScale: 2000,
    scaleUnit: 'calls',
    paper: 'call/ret',
    expected: (s) => `calls returned: ${s}\n`,
  },
  {
    name: 'divzero',
    purpose: 'divide-by-zero faults in user mode, each skipped by the guest kernel',
    exposes: 'exception delivery: reflected through the VMM, or delivered straight to the guest by VT-x',
    program: 'programs/divzero.s',
    defaultScale: 10000,
    quickScale: 200,
    scaleUnit: 'faults',
    paper: 'divzero',
    expected: (s) => `divide errors handled: ${s}\n`,
  },
  {
    name: 'pgfault',
    purpose: 'demand-zero page faults: touch fresh pages, release them, touch them again',
    exposes: 'true page faults and page-table updates: the memory-virtualization cost',
    paging: true,
    program: 'programs/pgfault.s',
    defaultScale: 2000,
    quickScale: 64,
    scaleUnit: 'page faults',
    paper: 'pgfault',
    expected: (s) => `pages touched: ${s}\npages not zeroed: 0\n`,
  },
  {
    name: 'ptemod',
    purpose: 'the guest kernel rewrites a page-table entry and invalidates its TLB entry in a loop',
    exposes: 'traced page-table writes: the most expensive operation for shadow paging',
    paging: true,
    program: 'programs/ptemod.s',
    defaultScale: 10000,
    quickScale: 200,
    scaleUnit: 'entry updates',
    paper: 'ptemod',
    expected: (s) => `page-table entry updates: ${s}\n`,
  },
  {
    name: 'forkwait',
    purpose: 'fork a child, let it exit, wait for it: SCALE times, from a parent with 8 pages of private memory',
    exposes: 'process creation: new address spaces, copy-on-write page-table writes and faults, exit unmapping, address-space switches',
    paging: true,
    program: 'programs/forkwait.s',
    defaultScale: 200,
    quickScale: 5,
    scaleUnit: 'fork/wait pairs',
    paper: 'forkwait',
    expected: (s) => `children forked and reaped: ${s}\nerrors: 0\n`,
  },
  {
    name: 'critical-sections',
    purpose: 'kernel critical sections (pushf; cli; ...; popf) until a number of timer ticks have arrived',
    exposes: 'the popf problem: a deprivileged kernel cannot re-enable interrupts with popf, so ticks stop',
    program: 'programs/critical-sections.s',
    defaultScale: 20,
    quickScale: 3,
    scaleUnit: 'timer ticks',
    expected: (s) => `timer ticks taken between critical sections: ${s}\n`,
  },
  {
    name: 'sieve',
    purpose: 'primes below SCALE with the sieve of Eratosthenes, in user mode',
    exposes: 'plain user computation: near native everywhere except under full emulation',
    program: 'programs/sieve.s',
    defaultScale: 1_000_000,
    quickScale: 20_000,
    scaleUnit: 'upper bound',
    expected: (s) => `primes below ${s}: ${primesBelow(s)}\n`,
  },
  {
    name: 'crc32',
    purpose: 'CRC-32 of "123456789" (0xcbf43926) and of SCALE pattern bytes, in user mode',
    exposes: 'plain user computation with table lookups',
    program: 'programs/crc32.s',
    defaultScale: 262_144,
    quickScale: 4096,
    scaleUnit: 'bytes',
    expected: (s) => `crc32 of "123456789": 0xcbf43926\ncrc32 of ${s} pattern bytes: ${hex8(crcPattern(s))}\n`,
  },
  {
    name: 'matmul',
    purpose: 'integer matrix product of two SCALE x SCALE matrices, in user mode',
    exposes: 'plain user computation with multiplies and strided memory access',
    program: 'programs/matmul.s',
    defaultScale: 64,
    quickScale: 12,
    scaleUnit: 'matrix size',
    expected: (s) => `matrix product checksum, n = ${s}: ${hex8(matmulChecksum(s))}\n`,
  },
  {
    name: 'multitask',
    purpose: 'four tasks preempted by a fast timer, printing their progress in turns',
    exposes: 'timer interrupts and context switches: virtual interrupt injection and kernel-stack switches',
    paging: true,
    program: 'programs/multitask.s',
    defaultScale: 20,
    quickScale: 3,
    scaleUnit: 'steps per task',
    kernelOptions: { TIMER_PERIOD: 2000 },
    expected: multitaskOutput,
  },
  {
    name: 'io',
    purpose: 'write 8 disk sectors, read them back, compare and print a line, SCALE times',
    exposes: 'device emulation: many port accesses, DMA, completion interrupts and console output',
    program: 'programs/io.s',
    defaultScale: 16,
    quickScale: 2,
    scaleUnit: 'rounds',
    expected: ioOutput,
  },
  {
    name: 'smc',
    purpose: 'user and kernel code rewrite one of their own instructions and run it, SCALE times each',
    exposes: 'self-modifying code: translation-cache invalidation in a binary translator',
    program: 'programs/smc.s',
    defaultScale: 2000,
    quickScale: 50,
    scaleUnit: 'rewrites',
    expected: (s) => `user code rewritten and run, sum: ${smcSum(s)}\nkernel code rewritten and run, sum: ${smcSum(s)}\n`,
  },
  {
    name: 'mixed',
    purpose: 'a compute task and a system task side by side: sieve, CRC, system calls, page faults, disk, faults, critical sections',
    exposes: 'a bit of every cost at once, like a kernel compile',
    program: 'programs/mixed.s',
    defaultScale: 4,
    quickScale: 1,
    scaleUnit: 'work units',
    expected: mixedOutput,
  },
];

export function workloadByName(name: string): WorkloadSpec | undefined {
  return WORKLOADS.find((w) => w.name === name);
}

export const WORKLOAD_NAMES: readonly string[] = WORKLOADS.map((w) => w.name);
