/**
 * The compiled fast path (src/translate/region.ts, src/translate/jit.ts) is an implementation detail of the
 * hardware model: a machine that runs hot code as compiled regions must do exactly what the interpreter does —
 * the same instructions retired, the same faults at the same addresses, the same TLB walks, each timer
 * interrupt at the same instruction, the same final state. These tests compare the two executions of the same
 * guest, byte for byte, on every workload and under every engine that runs guest code directly, and pin the
 * mechanisms that could make them differ (the instruction limit, self-modifying code, faults in a region).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assemble, formatError } from '../../src/asm/index.js';
import { programArb } from '../../src/fuzz/arbitrary.js';
import { FUZZ_BUDGET } from '../../src/fuzz/differential.js';
import { FUZZ_MEMORY_BYTES } from '../../src/fuzz/layout.js';
import { renderProgram } from '../../src/fuzz/program.js';
import { runBare } from '../../src/run/reference.js';
import { JIT_TUNING } from '../../src/translate/jit.js';
import { VEC_TIMER } from '../../src/isa/arch.js';
import type { Execution } from '../../src/hw/machine.js';
import { Machine } from '../../src/hw/machine.js';
import { guestImage } from '../../src/run/engine-run.js';
import { compilePage } from '../../src/translate/compile.js';
import { compileRegion, planRegion } from '../../src/translate/region.js';
import { engineById } from '../../strategies/registry.js';
import type { EngineOutcome } from '../../strategies/engine.js';
import { WORKLOADS } from '../../workloads/manifest.js';
import { asm } from '../support/machine.js';
import { rng } from '../support/rng.js';

/** An engine's outcome on a workload, with the guest run by the interpreter or by the compiled fast path. */
function outcome(engine: string, workload: string, execution: Execution, isa: 'default' | 'classic' = 'default'): string {
  const e = engineById(engine)!;
  const w = WORKLOADS.find((x) => x.name === workload)!;
  const image = guestImage({ kind: 'workload', workload: w, scale: w.quickScale }, e.guest);
  const options = Object.fromEntries(e.options.map((o) => [o.name, o.default]));
  const o: EngineOutcome = e.run({ image, isa, budget: 50_000_000, memoryBytes: 8 << 20, trace: null, options, execution });
  return JSON.stringify({ ...o, counters: o.counters.snapshot() });
}

describe('compiled execution is byte-identical to the interpreter', () => {
  for (const w of WORKLOADS) {
    it(`${w.name}: the reference run (status, console, registers, memory, every counter)`, () => {
      expect(outcome('native', w.name, 'compiled')).toBe(outcome('native', w.name, 'interpreter'));
    });
  }

  // The engines that run guest code directly on the physical machine: a sample of workloads that exercise
  // their traps, exits and hypercalls (every workload runs under every engine in test/engines/matrix.test.ts).
  for (const [engine, isa] of [
    ['trap-emulate', 'classic'],
    ['trap-emulate', 'default'],
    ['dbt', 'default'],
    ['paravirt', 'default'],
    ['vtx', 'default'],
    ['vtx-ept', 'default'],
  ] as const) {
    for (const w of ['syscall', 'pgfault', 'forkwait', 'multitask', 'smc']) {
      it(`${engine} (${isa} ISA) on ${w}`, () => {
        expect(outcome(engine, w, 'compiled', isa)).toBe(outcome(engine, w, 'interpreter', isa));
      });
    }
  }
});

/** A bare machine running an assembled program with one execution, to the end or a budget. */
function bare(source: string, execution: Execution, budget = 1_000_000): Machine {
  const m = new Machine({ memoryBytes: 1 << 20, execution });
  m.mem.load(asm(source).image, 0);
  m.run(budget);
  return m;
}

function same(source: string, budget?: number): Machine {
  const a = bare(source, 'interpreter', budget);
  const b = bare(source, 'compiled', budget);
  expect(b.registers()).toEqual(a.registers());
  expect(b.retired).toBe(a.retired);
  expect(b.status).toBe(a.status);
  expect(b.mmu.walks).toBe(a.mmu.walks);
  expect(b.mem.hash()).toBe(a.mem.hash());
  expect(b.jit!.compiled).toBeGreaterThan(0); // the loop really ran compiled
  return b;
}

describe('the mechanisms', () => {
  it('a loop that timer interrupts return into at many different instructions is compiled once', () => {
    // sieve's user code is one loop nest; every timer tick leaves it at whatever instruction was next and
    // returns there. Near compiled code the executor steps to an entry of the region it has (the head of a
    // loop) instead of compiling a new region for each of those addresses.
    const w = WORKLOADS.find((x) => x.name === 'sieve')!;
    const m = new Machine({ memoryBytes: 8 << 20, execution: 'compiled' });
    m.mem.load(guestImage({ kind: 'workload', workload: w, scale: w.defaultScale / 4 }, 'native'), 0);
    m.run(50_000_000);
    expect(m.status).toBe('exited');
    expect(m.exceptionCounts[VEC_TIMER], 'timer interrupts').toBeGreaterThan(40);
    const USER_BASE = 0x100000; // workloads/kernel/defs.s
    const user = m.jit!.regionList().filter((r) => r.va >>> 0 >= USER_BASE);
    expect(user.map((r) => r.blocks)).toHaveLength(1);
    expect(user[0].entries.length, 'entries: the planned one and the loop heads').toBeGreaterThan(1);
  });

  it('a call and its ret stay in compiled code: the return point is an entry, and ret dispatches to it', () => {
    // 1,000 calls of a function in the same page. A ret used to leave the region (its return point was another
    // region, or interpreted); now the region holds the return point as a block and the ret continues there.
    const m = same(`
start:  li   r15, 0x8000
        movi r1, 0
        movi r2, 0
1:      call add3
        addi r1, r1, 1
        cmpi r1, 1000
        bne  1b
        hlt
add3:   addi r2, r2, 3
        ret
`);
    expect(m.registers().r[2]).toBe(3000);
    // (The first iterations run in the interpreter, until the loop is hot.)
    expect(m.jit!.regionRetired, 'instructions retired in compiled code').toBeGreaterThan(0.8 * m.retired);
    expect(m.jit!.regionRuns, 'entries into compiled code (1,000 if every ret left it)').toBeLessThan(10);
  });

  it('a budget that ends in the middle of a compiled loop stops at exactly that instruction', () => {
    // A 3-instruction loop; 10,000 plus 1 or 2 instructions can only be reached by leaving the region before a
    // block that would not fit, and interpreting the rest.
    const loop = `
start:  movi r1, 0
1:      addi r1, r1, 1
        cmpi r1, 0x7fff
        bne  1b
        hlt
`;
    for (const budget of [10_000, 10_001, 10_002]) {
      const m = same(loop, budget);
      expect(m.status).toBe('budget-exhausted');
      expect(m.retired).toBe(budget);
    }
  });

  it('a store into compiled code is seen by the very next instruction fetch (self-modifying code)', () => {
    // The loop rewrites the immediate of its own `addi` each time round (adding 1 to it), so the sum is 1 + 2 + ...
    // + 400 = 80,200 only if every rewrite takes effect at once, compiled or not.
    const smc = `
start:  movi r1, 0          ; sum
        movi r2, 400        ; iterations
        li   r3, patch
1:      ldw  r4, [r3]
        addi r4, r4, 1
        stw  r4, [r3]
patch:  addi r1, r1, 0      ; rewritten: its immediate is incremented before each run
        addi r2, r2, -1
        cmpi r2, 0
        bne  1b
        hlt
`;
    const m = same(smc);
    expect(m.cpu.regs[1]).toBe(80_200);
    expect(m.jit!.invalidated).toBeGreaterThan(0);
  });

  it('a fault inside a region is raised at the same instruction with the same registers', () => {
    // A loop that walks off the end of memory: the load at 1 MiB is a machine check, after the same iterations.
    const walk = `
start:  li   r1, 0xff000
1:      ldw  r2, [r1]
        addi r1, r1, 4
        jmp  1b
`;
    const m = same(walk);
    expect(m.status).toBe('machine-check');
    expect(m.cpu.regs[1]).toBe(0x100000);
  });
});

describe('fuzzed programs (src/fuzz): compiled and interpreted runs are identical', () => {
  // Compile as eagerly as possible, so that every address a short program reaches goes through the compiler.
  const saved = { ...JIT_TUNING };
  beforeAll(() => Object.assign(JIT_TUNING, { chunk: 1, hot: 1 }));
  afterAll(() => Object.assign(JIT_TUNING, saved));

  it('200 generated programs (user and supervisor code, faults, interrupts, paging, self-modifying stores)', () => {
    const programs = fc.sample(programArb(), { seed: 9, numRuns: 200 });
    for (const p of programs) {
      const source = renderProgram(p);
      const a = assemble(source, 'fuzz.s');
      if (!a.ok) throw new Error(a.errors.map(formatError).join('\n'));
      for (const isa of ['default', 'classic'] as const) {
        const run = (execution: Execution) =>
          JSON.stringify(runBare(a.image, { isa, budget: FUZZ_BUDGET, memoryBytes: FUZZ_MEMORY_BYTES, execution }));
        expect(run('compiled'), source).toBe(run('interpreter'));
      }
    }
  });
});

describe('the region compiler only ever generates what the decoder read', () => {
  it('random instruction words plan and compile into functions that parse, with no text from guest data', () => {
    const r = rng(7);
    for (let i = 0; i < 300; i++) {
      const words = Array.from({ length: 24 }, () => (r() * 2 ** 32) | 0);
      const region = compileRegion(0x1000, (va) => words[((va - 0x1000) >>> 2) % words.length]);
      if (region === null) {
        expect(planRegion(0x1000, (va) => words[((va - 0x1000) >>> 2) % words.length])).toEqual([]);
        continue;
      }
      // Only identifiers of the generator, numbers and operators: no string or property name can come from data.
      expect(region.source.replace(/^"use strict";/, '')).not.toMatch(/["'`]/);
      expect(typeof region.fn).toBe('function');
    }
  });

  it('names each region function after its guest address, so a CPU profile says which guest code is hot', () => {
    const image = asm('addi r1, r1, 1\n').image;
    const addi = new DataView(image.buffer, image.byteOffset).getInt32(0, true);
    const word = (): number => addi; // straight-line code wherever the region starts
    expect(compileRegion(0x1001a4, word)?.fn.name).toBe('region_1001a4');
    // An address above 2^31 is named unsigned, as the disassembler prints it.
    expect(compileRegion(0xc0003f00 | 0, word)?.fn.name).toBe('region_c0003f00');
    // DBT page functions likewise, after their first block.
    expect(compilePage([{ va: 0xc0003f00 | 0, words: [addi] }]).fn.name).toBe('page_c0003f00');
  });
});
