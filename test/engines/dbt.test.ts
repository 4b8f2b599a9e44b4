/** Binary translation: faithful on the default ISA, translation statistics, self-modifying code, the cache. */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { programArb } from '../../src/fuzz/arbitrary.js';
import { runProgram } from '../../src/fuzz/differential.js';
import { EXIT_CALLOUT, blockSource, compileBlock } from '../../src/translate/compile.js';
import { DBT_TUNING } from '../../strategies/dbt.js';
import { engineById } from '../../strategies/registry.js';
import { assembleFile, formatError } from '../../src/asm/index.js';
import { runCell } from '../../src/run/engine-run.js';
import { cell, P4, reasonCount } from '../support/engines.js';
import { word } from '../support/machine.js';

describe('dbt', () => {
  it('is exact on critical-sections on the default ISA: popf is rewritten, not executed', () => {
    const r = cell('dbt', 'critical-sections');
    expect(r.fidelity.verdict).toBe('exact');
    expect(r.silentFailures).toEqual([]);
    // cli/sti/pushf/popf become inline updates of the virtual CPU: no trap, exit or callout names them.
    for (const m of ['cli', 'sti', 'pushf', 'popf', 'rdmode']) expect(reasonCount(r, 'callout', m) + reasonCount(r, 'trap', m)).toBe(0);
    expect(r.counters.inlineEmulations).toBeGreaterThan(1000);
  });

  it('I/O instructions become callouts, one per port access the kernel makes', () => {
    const r = cell('dbt', 'in', { scale: 500 });
    expect(r.fidelity.verdict).toBe('exact');
    // Every `in` the guest kernel executes is a callout: as many as trap-and-emulate (classic ISA, exact) traps
    // on — bench_in's 500 reads plus the console driver's status checks.
    const traps = reasonCount(cell('trap-emulate', 'in', { scale: 500, isa: 'classic' }), 'trap', 'in');
    expect(traps).toBeGreaterThanOrEqual(500);
    expect(reasonCount(r, 'callout', 'in')).toBe(traps);
  });

  it('smc: every kernel code rewrite invalidates the translation of the rewritten block, and output stays right', () => {
    const scale = 50;
    const r = cell('dbt', 'smc', { scale });
    expect(r.fidelity.verdict).toBe('exact');
    expect(r.outputCorrect).toBe(true);
    // Each of the `scale` rewrites hits a page holding the translated smc_target (it ran after the previous
    // rewrite), so at least `scale` blocks are invalidated and retranslated.
    expect(r.counters.invalidations).toBeGreaterThanOrEqual(scale);
    expect(r.counters.blocksTranslated).toBeGreaterThanOrEqual(scale);
    // Per rewrite (the marginal cost between two scales): every block invalidated on the rewritten page runs again
    // and misses — exactly one miss (a retranslation) per invalidation — so the cache's miss rate on smc is set by
    // the rewrites, and at least one block goes per rewrite.
    const twice = cell('dbt', 'smc', { scale: 2 * scale });
    const invalidated = twice.counters.invalidations - r.counters.invalidations;
    expect(invalidated).toBeGreaterThanOrEqual(scale);
    expect(twice.counters.cacheMisses - r.counters.cacheMisses).toBe(invalidated);
  });

  it('after warm-up most block transitions are chained or cache hits (syscall loop)', () => {
    const r = cell('dbt', 'syscall', { scale: 2000 });
    const c = r.counters;
    const transitions = c.chainedTransitions + c.cacheHits + c.cacheMisses;
    // Misses are bounded by the kernel code translated once (plus retranslation); the loop of 2000 system
    // calls runs the same few blocks each time.
    expect(c.cacheMisses).toBe(c.blocksTranslated);
    expect((c.chainedTransitions + c.cacheHits) / transitions).toBeGreaterThan(0.95);
  });

  it('stays exact with chaining off and with a tiny cache that must flush', () => {
    const unchained = cell('dbt', 'multitask', { options: { chaining: false } });
    expect(unchained.fidelity.verdict).toBe('exact');
    expect(unchained.counters.chainedTransitions).toBe(0);
    const tiny = cell('dbt', 'mixed', { options: { cacheBlocks: 8 } });
    expect(tiny.fidelity.verdict).toBe('exact');
    expect(tiny.counters.cacheFlushes).toBeGreaterThan(0);
  });

  it('one code page at two virtual addresses gets a translation per address (the cache is keyed by guest pc)', () => {
    const a = assembleFile('workloads/tests/alias.s');
    if (!a.ok) throw new Error(a.errors.map(formatError).join('\n'));
    const r = runCell({ engine: engineById('dbt')!, guest: { kind: 'image', name: 'alias.s', image: a.image }, isa: 'default', preset: P4 });
    expect(r.fidelity.verdict, r.fidelity.differences.join('; ')).toBe('exact');
    // f's call pushes the address after it: 0x3004 when run at 0x3000, 0x5004 when run at 0x5000.
    expect([r.registers.r[8], r.registers.r[9]]).toEqual([0x3004, 0x5004]);
  });

  it('the generated code of a block splices only decoded integers (golden)', () => {
    const words = [word('addi', { rd: 1, rs: 2, imm: -5 }), word('out', { rs: 1, imm: 0x10 })];
    const src = blockSource(words, 0x3000);
    expect(src).toContain('/* 12288: addi */ r1 = (r2 + -5) | 0;');
    // The out ends the block with a callout before it: one instruction retired, pc left at the out.
    expect(src).toContain(`/* 12292: out */ { n += 1; pc = 12292; code = ${EXIT_CALLOUT}; break run; }`);
    expect(() => compileBlock(words, 0x3000)).not.toThrow();
  });
});

describe('traces (hot blocks compiled together) run exactly as blocks one by one', () => {
  // Build a trace for every block at its first run, so that generated programs exercise them: every program
  // must still be exact against the reference, and its translation statistics must not change.
  const saved = { ...DBT_TUNING };
  beforeAll(() => Object.assign(DBT_TUNING, { traceAfter: 1 }));
  afterAll(() => Object.assign(DBT_TUNING, saved));

  it('150 generated programs: exact on both ISAs', () => {
    const targets = (['default', 'classic'] as const).map((isa) => ({ engine: engineById('dbt')!, isa, mayDiverge: false }));
    for (const p of fc.sample(programArb(), { seed: 21, numRuns: 150 })) {
      const r = runProgram(p, targets);
      expect(r.failures.map((f) => f.why ?? f.fidelity.differences.join('; ')), r.source).toEqual([]);
    }
  });

  it('the workloads count the same with eager traces as with the default', () => {
    for (const w of ['syscall', 'critical-sections', 'forkwait', 'smc']) {
      const eager = cell('dbt', w).counters;
      Object.assign(DBT_TUNING, saved);
      const lazy = cell('dbt', w).counters;
      Object.assign(DBT_TUNING, { traceAfter: 1 });
      expect(eager, w).toEqual(lazy);
    }
  });
});
