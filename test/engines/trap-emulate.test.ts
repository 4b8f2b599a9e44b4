/**
 * trap-and-emulate: traps are exactly the privileged instructions the guest kernel executes; on the default ISA
 * popf silently fails and the run is diverged with that cause; on the classic ISA it is exact.
 */
import { describe, expect, it } from 'vitest';
import { INSTRUCTIONS, isPrivileged } from '../../src/isa/table.js';
import { bareMachine } from '../../src/run/reference.js';
import { buildWorkload } from '../support/workloads.js';
import { workloadByName } from '../../workloads/manifest.js';
import { cell, reasonCount } from '../support/engines.js';

describe('trap-emulate', () => {
  for (const name of ['syscall', 'io', 'multitask']) {
    it(`${name} on the classic ISA: one trap per privileged instruction the reference executed, per mnemonic`, () => {
      const w = workloadByName(name)!;
      // The reference machine counts every sensitive instruction it executed (src/hw/machine.ts sensitiveCounts).
      const ref = bareMachine(buildWorkload(w, w.quickScale).image, { isa: 'classic' });
      ref.run(100_000_000);
      const r = cell('trap-emulate', name, { isa: 'classic' });
      expect(r.fidelity.verdict).toBe('exact');
      for (const d of INSTRUCTIONS.filter((x) => isPrivileged(x, 'classic'))) {
        expect(reasonCount(r, 'trap', d.name), d.name).toBe(ref.sensitiveCounts[d.opcode]);
      }
      // ... and one trap per system call the guest made.
      expect(reasonCount(r, 'trap', 'syscall')).toBe(ref.exceptionCounts[0x80]);
    });
  }

  it('on the default ISA diverges on critical-sections, naming popf as the cause, and stops at its budget', () => {
    const r = cell('trap-emulate', 'critical-sections');
    expect(r.fidelity.verdict).toBe('diverged');
    expect(r.status).toBe('budget-exhausted');
    // The causes come in the order they first misbehaved: the boot-time rdmode check first, the popf loop later.
    expect(r.fidelity.cause).toMatch(/^rdmode silently misbehaved once .*; popf silently misbehaved \d+ times \(first at 0x[0-9a-f]+.*virtual IF stayed 0/);
    // Silent failures are recorded per site. The one that dominates is the kernel's irq_restore in sys_crit,
    // dropped on every iteration of its loop (other irq_restore sites, e.g. in the frame allocator, fail rarely).
    const popfCounts = r.silentFailures.filter((f) => f.instruction === 'popf').map((f) => f.count);
    expect(Math.max(...popfCounts)).toBeGreaterThan(1000);
    expect(r.fidelity.differences[0]).toMatch(/status budget-exhausted/);
  });

  it('on the default ISA the boot-time rdmode check tells the deprivileged kernel the truth', () => {
    const r = cell('trap-emulate', 'hello');
    expect(r.console).toMatch(/^kernel: not running in supervisor mode!\n/);
    expect(r.silentFailures.map((f) => f.instruction)).toContain('rdmode');
  });

  it('on the classic ISA popf, pushf and rdmode trap and are emulated: critical-sections is exact', () => {
    const r = cell('trap-emulate', 'critical-sections', { isa: 'classic' });
    expect(r.fidelity.verdict).toBe('exact');
    expect(reasonCount(r, 'trap', 'popf')).toBeGreaterThan(0);
    expect(reasonCount(r, 'trap', 'pushf')).toBe(reasonCount(r, 'trap', 'popf'));
    expect(r.silentFailures).toEqual([]);
  });

  it('shadow paging: demand-zero faults are true faults reflected to the guest; shadow misses are hidden', () => {
    const w = workloadByName('pgfault')!;
    const r = cell('trap-emulate', 'pgfault', { isa: 'classic' });
    expect(r.fidelity.verdict).toBe('exact');
    // Every page the program touches is a true (demand-zero) fault, plus the kernel's own first touches.
    const ref = cell('native', 'pgfault');
    expect(r.counters.truePageFaults).toBe(ref.counters.hardwareFaultDeliveries);
    expect(r.counters.truePageFaults).toBeGreaterThanOrEqual(w.quickScale);
    expect(r.counters.hiddenPageFaults).toBeGreaterThan(0);
  });
});
