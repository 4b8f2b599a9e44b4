/**
 * The guest kernel's scheduler is preemptive round-robin (issue 3), proven by a program that cannot finish any
 * other way: workloads/tests/preempt.s — two tasks take turns through a shared word and spin, never yielding,
 * while they wait. Only a timer interrupt followed by a task switch lets the waiting task run. The control
 * experiment slows the timer down: the same program then spins until its instruction budget.
 */
import { describe, expect, it } from 'vitest';
import type { IsaVariant } from '../../src/isa/arch.js';
import { runCell, type CellResult } from '../../src/run/engine-run.js';
import { ENGINES, engineById } from '../../strategies/registry.js';
import type { WorkloadSpec } from '../../workloads/manifest.js';
import { P4 } from '../support/engines.js';

const ROUNDS = 6;

function preempt(kernelOptions: Record<string, number>): WorkloadSpec {
  return {
    name: `tests/preempt.s ${JSON.stringify(kernelOptions)}`,
    purpose: 'two tasks that never yield take turns',
    exposes: 'preemptive scheduling',
    program: 'tests/preempt.s',
    defaultScale: ROUNDS,
    quickScale: ROUNDS,
    scaleUnit: 'turns per task',
    kernelOptions,
    expected: (s) => `turns taken in strict alternation, without yielding: ${2 * s}\n`,
  };
}

function run(engine: string, w: WorkloadSpec, budget: number): CellResult {
  // trap-emulate runs the classic ISA: on the default one it is not faithful (the popf problem, tested elsewhere).
  const isa: IsaVariant = engine === 'trap-emulate' ? 'classic' : 'default';
  return runCell({ engine: engineById(engine)!, guest: { kind: 'workload', workload: w, scale: ROUNDS }, isa, preset: P4, budget });
}

describe('the guest kernel preempts user tasks (round-robin on the timer)', () => {
  const fastTimer = preempt({ TIMER_PERIOD: 2000 });

  it.each(ENGINES.map((e) => e.id))('%s: two tasks that spin instead of yielding still alternate, and finish', (id) => {
    const r = run(id, fastTimer, 5_000_000);
    expect(r.status, r.message).toBe('exited');
    expect(r.console).toBe(fastTimer.expected(ROUNDS));
    expect(r.fidelity.verdict, r.fidelity.differences.join('; ')).toBe('exact');
  });

  it('every turn after the first follows a timer interrupt and a switch to the other address space', () => {
    const r = run('native', fastTimer, 5_000_000);
    // 2·ROUNDS turns alternate between the two tasks, so at least 2·ROUNDS − 1 switches between them happened,
    // each one a page-table-base load (a TLB flush), each one caused by a timer tick.
    expect(r.counters.tlbFlushes).toBeGreaterThanOrEqual(2 * ROUNDS - 1);
    expect(r.counters.hardwareDeliveries).toBeGreaterThanOrEqual(2 * ROUNDS - 1);
  });

  it('control: with the timer slowed to one tick per 10⁹ instructions, the first task spins until the budget', () => {
    const budget = 1_000_000;
    const r = run('native', preempt({ TIMER_PERIOD: 1_000_000_000 }), budget);
    expect(r.status).toBe('budget-exhausted');
    expect(r.counters.guestInstructions).toBe(budget);
    expect(r.console).toBe('');
  });
});
