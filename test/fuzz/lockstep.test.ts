/**
 * Lock-step mode (`virtstrat run ... --lockstep`, src/run/lockstep.ts): an engine beside the reference, to the
 * first instruction after which their architectural states differ.
 *
 * It rests on one property of every engine, tested here for every instruction of a generated program: stopped
 * by its budget after exactly n instructions, a faithful engine is in the reference's state after n.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MODE_SUPERVISOR, MODE_USER } from '../../src/isa/arch.js';
import { programArb } from '../../src/fuzz/arbitrary.js';
import { runOn, runProgram } from '../../src/fuzz/differential.js';
import { compareWithReference } from '../../src/run/fidelity.js';
import { guestImage } from '../../src/run/engine-run.js';
import { lockstep, type LockstepResult } from '../../src/run/lockstep.js';
import { DEFAULT_MEMORY_BYTES } from '../../src/hw/memory.js';
import type { IsaVariant } from '../../src/isa/arch.js';
import type { Engine, EngineOptionValue, EngineOutcome } from '../../strategies/engine.js';
import { engineById } from '../../strategies/registry.js';
import { workloadByName } from '../../workloads/manifest.js';
import { cli } from '../support/cli.js';
import { cell } from '../support/engines.js';
import { brokenEmulate } from './broken.js';

const native = engineById('native')!;
const hex = (v: number): string => `0x${(v >>> 0).toString(16)}`;

function workloadImage(name: string): Uint8Array {
  const w = workloadByName(name)!;
  return guestImage({ kind: 'workload', workload: w, scale: w.quickScale }, 'native');
}

function defaultsOf(e: Engine): Record<string, EngineOptionValue> {
  return Object.fromEntries(e.options.map((o) => [o.name, o.default]));
}

function lockstepOn(engine: Engine, image: Uint8Array, isa: IsaVariant): LockstepResult {
  return lockstep({ engine, image, isa, memoryBytes: DEFAULT_MEMORY_BYTES, options: defaultsOf(engine) });
}

/** The engines that must be exact: every engine on the default ISA but trap-emulate, which must be on classic. */
const FAITHFUL: [string, IsaVariant][] = [
  ['emulate', 'default'],
  ['dbt', 'default'],
  ['vtx', 'default'],
  ['vtx-ept', 'default'],
  ['trap-emulate', 'classic'],
];

describe('lock-step mode', () => {
  it('stopped after exactly n instructions, a faithful engine is in the reference state after n — for every n of a program with interrupts, system calls and faults', () => {
    // The first generated program (fixed seed) whose reference run takes timer interrupts, system calls, page
    // faults and invalid-opcode faults, short enough to stop it after each one of its instructions.
    const wanted = ['timer', 'syscall', 'page-fault', 'invalid-opcode'];
    const program = fc
      .sample(programArb(), { numRuns: 60, seed: 8 })
      .map((p) => runProgram(p, []))
      .find((r) => wanted.every((v) => (r.exceptions[v] ?? 0) > 0) && runOn(native, r.image, 'default').counters.guestInstructions <= 300);
    expect(program).toBeDefined();
    const image = program!.image;
    const reference = new Map<string, EngineOutcome>();
    const referenceAt = (isa: IsaVariant, n: number): EngineOutcome => {
      const key = `${isa}/${n}`;
      if (!reference.has(key)) reference.set(key, runOn(native, image, isa, n));
      return reference.get(key)!;
    };
    for (const [id, isa] of FAITHFUL) {
      const engine = engineById(id)!;
      const total = runOn(native, image, isa).counters.guestInstructions;
      for (let n = 0; n <= total; n++) {
        const got = runOn(engine, image, isa, n);
        expect(got.counters.guestInstructions, `${id} (${isa}) at ${n}`).toBe(n);
        expect(compareWithReference(referenceAt(isa, n), got, 'state').differences, `${id} (${isa}) stopped after ${n} instructions`).toEqual([]);
      }
    }
  });

  it('every faithful engine agrees with the reference at every probe of multitask (timer-driven task switches)', () => {
    const image = workloadImage('multitask');
    const total = cell('native', 'multitask').counters.guestInstructions;
    for (const [id, isa] of FAITHFUL) {
      const r = lockstepOn(engineById(id)!, image, isa);
      expect(r.divergence, `${id} (${isa})`).toBeNull();
      expect(r.compared).toBe(total);
      expect(r.referenceStatus).toBe('exited');
    }
  });

  it('trap-emulate on critical-sections stops at the first divergent instruction: the kernel asking rdmode at boot', () => {
    // The whole run's first silent failure is the first divergent instruction: before it the deprivileged
    // kernel did exactly what the reference did. It is the boot-time check_supervisor (workloads/kernel/arch.s),
    // which runs before any pushf/cli/popf critical section: rdmode, at the instruction after `firstClock`.
    const first = cell('trap-emulate', 'critical-sections').silentFailures[0];
    expect(first.instruction).toBe('rdmode');
    const r = lockstepOn(engineById('trap-emulate')!, workloadImage('critical-sections'), 'default');
    const d = r.divergence!;
    expect(d.instruction).toBe(first.firstClock + 1);
    expect(d.before.instructions).toBe(first.firstClock);
    expect(d.pc).toBe(first.pc);
    expect(d.mode).toBe('supervisor');
    const rd = Number(/^rdmode r(\d+)$/.exec(d.disassembly)![1]);
    // The only difference: rdmode's register holds user mode (1) where the reference reads supervisor (0).
    expect(d.differences).toEqual([`final r${rd} ${hex(MODE_USER)} instead of ${hex(MODE_SUPERVISOR)}`]);
    expect(d.silentFailures.map((f) => f.instruction)).toEqual(['rdmode']);
    // Gallop 1, 2, 4 (equal up to 2, different at 4 = firstClock + 1), then bisect once (3: equal).
    expect(r.probes).toBe(4);
  });

  it('a broken engine is caught at the exact instruction where it goes wrong', () => {
    // emulate, except that from instruction K on r5 is off by 0x100 (a wrong result that stays wrong).
    const K = 12_345;
    const broken = brokenEmulate('broken', 5, 0x100, (_spec, out) => out.counters.guestInstructions >= K);
    const r = lockstepOn(broken, workloadImage('multitask'), 'default');
    const d = r.divergence!;
    expect(d.instruction).toBe(K);
    expect(d.before.instructions).toBe(K - 1);
    const r5 = d.reference.registers.r[5];
    expect(d.differences).toEqual([`final r5 ${hex(r5 + 0x100)} instead of ${hex(r5)}`]);
    // Galloping to 16384 takes 15 probes (1, 2, ..., 16384), bisecting the 8192 instructions after 8192 takes 13.
    expect(r.probes).toBe(15 + 13);
  });

  it('virtstrat run --lockstep: the transcript, exit status 1 at a divergence, 0 without one, 2 for paravirt', async () => {
    const diverged = await cli('run', 'critical-sections', '--engine', 'trap-emulate', '--lockstep', '--scale', '3');
    expect(diverged.code).toBe(1);
    expect(diverged.out).toMatch(/the states first differ after instruction \d+/);
    expect(diverged.out).toMatch(/instruction \d+: 0x[0-9a-f]{8} \(supervisor\)  rdmode r\d+/);
    expect(diverged.out).toMatch(/r13 +0x00000000 +0x00000001 +<-- differs/);
    expect(diverged.out).toContain('the fidelity oracle: rdmode');
    const exact = await cli('run', 'workloads/bare/hello.s', '--engine', 'dbt', '--lockstep');
    expect(exact.code).toBe(0);
    expect(exact.out).toMatch(/dbt in lock-step with the reference, default ISA: the states agree after every one of \d+ instructions/);
    const pv = await cli('run', 'syscall', '--engine', 'paravirt', '--lockstep');
    expect(pv.code).toBe(2);
    expect(pv.err).toMatch(/paravirt runs the paravirt kernel build/);
  });
});
