/**
 * Plain-JavaScript baselines for `virtstrat perf`: the algorithm of each compute workload's guest program
 * (workloads/programs/*.s), step for step — same data layout, same loop bounds, same amount of work at the same
 * scale — written as ordinary JavaScript, so "engine time / baseline time" says what the simulator costs over
 * running the program natively on the host.
 *
 * Each baseline returns the console text the guest prints. perf checks it against the manifest's `expected()`
 * (computed by independent implementations), so a baseline that does less work than the guest cannot go unseen.
 */

const hex8 = (v: number): string => `0x${(v >>> 0).toString(16).padStart(8, '0')}`;

/** workloads/programs/sieve.s: one byte per number; cross out from i*i only while i <= n / i. */
function sieve(n: number): string {
  const composite = new Uint8Array(n);
  let primes = 0;
  for (let i = 2; i < n; i++) {
    if (composite[i] !== 0) continue;
    primes++;
    if (i > Math.floor(n / i)) continue;
    for (let j = i * i; j < n; j += i) composite[j] = 1;
  }
  return `primes below ${n}: ${primes}\n`;
}

/** workloads/programs/crc32.s: build the 256-entry table bit by bit, CRC the check string, fill the pattern, CRC it. */
function crc32(n: number): string {
  const table = new Int32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
    table[i] = c;
  }
  const check = crcOf(table, new TextEncoder().encode('123456789'));
  const buf = new Uint8Array(n);
  for (let i = 0, b = 7; i < n; i++, b = (b + 31) & 0xff) buf[i] = b;
  return `crc32 of "123456789": ${hex8(check)}\ncrc32 of ${n} pattern bytes: ${hex8(crcOf(table, buf))}\n`;
}

/**
 * The CRC loop, at module level: as a closure over each run's table, V8 recompiled it on every run (its optimized
 * code was specialized to the closure's context) and the baseline wandered between 1 and 6 ms.
 */
function crcOf(table: Int32Array, bytes: Uint8Array): number {
  let c = -1;
  for (let i = 0; i < bytes.length; i++) c = (c >>> 8) ^ table[(c ^ bytes[i]) & 0xff];
  return ~c;
}

/** workloads/programs/matmul.s: fill A and B, C = A x B with 32-bit wrap-around, weighted checksum of C. */
function matmul(n: number): string {
  const a = new Int32Array(n * n);
  const b = new Int32Array(n * n);
  const c = new Int32Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      a[i * n + j] = ((i + 2 * j) % 17) - 8;
      b[i * n + j] = ((3 * i + j) % 13) - 6;
    }
  }
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let sum = 0;
      for (let k = 0; k < n; k++) sum = (sum + Math.imul(a[i * n + k], b[k * n + j])) | 0;
      c[i * n + j] = sum;
    }
  }
  let checksum = 0;
  for (let k = 0; k < n * n; k++) checksum = (checksum + Math.imul(c[k], k + 1)) | 0;
  return `matrix product checksum, n = ${n}: ${hex8(checksum)}\n`;
}

/** The workloads that have a plain-JavaScript baseline, by name. */
export const BASELINES: Readonly<Record<string, (scale: number) => string>> = { sieve, crc32, matmul };

export const BASELINE_WORKLOADS: readonly string[] = Object.keys(BASELINES);
