/** Every workload on the reference (bare-metal) run: correct output at two scales, and deterministic counts. */
import { describe, expect, it } from 'vitest';
import { crc32, primesBelow, WORKLOADS } from '../../workloads/manifest.js';
import { buildProgram } from '../../src/workload/build.js';
import { runBare } from '../../src/run/reference.js';
import { runWorkload } from '../support/workloads.js';

describe('every workload runs to completion on bare metal with its expected output', () => {
  for (const w of WORKLOADS) {
    // Two different scales: the quick one and twice it (hello has no scale).
    for (const scale of [w.quickScale, w.quickScale * 2]) {
      it(`${w.name} at scale ${scale}`, () => {
        const r = runWorkload(w, scale);
        expect(r.status, r.message).toBe('exited');
        expect(r.exitCode).toBe(0);
        expect(r.console).toBe(w.expected(scale));
      });
    }
  }
});

describe("the manifest's oracles agree with published values (they compute every expected output)", () => {
  it('primes below 1,000,000: 78,498 (and below 100: 25)', () => {
    expect(primesBelow(100)).toBe(25);
    expect(primesBelow(1_000_000)).toBe(78_498);
  });
  it('CRC-32 of "123456789" is 0xcbf43926 (the catalogue check value of CRC-32/ISO-HDLC)', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
  });
});

describe('counts are deterministic', () => {
  for (const w of WORKLOADS) {
    it(`${w.name}: two runs give identical counters, registers and memory`, () => {
      const a = runWorkload(w, w.quickScale);
      const b = runWorkload(w, w.quickScale);
      expect(JSON.stringify(b.counters)).toBe(JSON.stringify(a.counters));
      expect(b.registers).toEqual(a.registers);
      expect(b.memoryHash).toBe(a.memoryHash);
    });
  }
});

describe('the kernel contains user faults', () => {
  it('kills each faulting task with a message naming the fault and the pc, and keeps the others running', () => {
    const built = buildProgram({ program: 'tests/faults.s', scale: 1, build: 'native' });
    const at = (label: string) => `0x${built.symbols.get(label)!.toString(16).padStart(8, '0')}`;
    const r = runBare(built.image, { budget: 10_000_000 });
    expect(r.status).toBe('exited');
    expect(r.console).toBe(
      `task 0 killed: privilege violation at pc ${at('priv_at')}\n` +
        `task 1 killed: invalid opcode at pc ${at('undef_at')}\n` +
        `task 2 killed: page fault at pc ${at('read_at')}\n` +
        `task 3 killed: divide error at pc ${at('divide_at')}\n` +
        'survivor: still running\n',
    );
    // A killed task exits with 0x80 | vector; the machine's exit code ORs every task's.
    expect(r.exitCode).toBe(0x80 | 13 | 6 | 14 | 0);
  });
});

describe('documentation', () => {
  it('docs/workloads.md has a section for every workload of the manifest', async () => {
    const { readFileSync } = await import('node:fs');
    const doc = readFileSync(new URL('../../docs/workloads.md', import.meta.url), 'utf8');
    const missing = WORKLOADS.filter((w) => !doc.includes(`\n### ${w.name}\n`)).map((w) => w.name);
    expect(missing).toEqual([]);
  });
});
