/**
 * native — the reference run: the guest kernel on the bare hardware model, in supervisor mode, no VMM.
 * Its output and final state define fidelity; its modeled cycles are the baseline of every overhead ratio.
 */
import { withRecycledMemory } from '../src/hw/memory.js';
import { Counters } from '../src/metrics/counters.js';
import type { Engine } from './engine.js';
import { countHardwareDeliveries } from '../src/run/outcome.js';
import { bareOutcome, nativeControlCount, nativeFlagCount, runBareMachine } from './bare.js';

export const native: Engine = {
  id: 'native',
  title: 'native (reference)',
  summary: 'The guest kernel runs on the bare hardware model in supervisor mode, with no VMM: the reference run.',
  guest: 'native',
  faithfulOn: ['default', 'classic'],
  options: [],
  run(spec) {
    return withRecycledMemory(() => {
      const m = runBareMachine(spec, spec.execution ?? 'compiled');
      const c = new Counters();
      c.directInstructions = m.retired;
      countHardwareDeliveries(c, m.exceptionCounts);
      c.physicalPortAccesses = m.dev.portReads + m.dev.portWrites;
      c.nativeFlagInstructions = nativeFlagCount(m);
      c.nativeControlInstructions = nativeControlCount(m);
      return bareOutcome(m, c);
    });
  },
};
