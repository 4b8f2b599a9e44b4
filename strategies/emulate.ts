/**
 * emulate — full emulation, Bochs-style: a software interpreter of the whole virtual CPU. Every guest
 * instruction, kernel or user, is fetched, decoded and executed in software; the MMU is a software walk of the
 * guest's page tables; devices are software models. Nothing ever reaches a VMM, because there is nothing the
 * interpreter does not already see — and everything costs an interpreted instruction.
 */
import { withRecycledMemory } from '../src/hw/memory.js';
import { Counters } from '../src/metrics/counters.js';
import type { Engine } from './engine.js';
import { bareOutcome, runBareMachine } from './bare.js';

export const emulate: Engine = {
  id: 'emulate',
  title: 'full emulation',
  summary: 'A software interpreter of the whole virtual CPU: every guest instruction is interpreted.',
  guest: 'native',
  faithfulOn: ['default', 'classic'],
  options: [],
  run(spec) {
    return withRecycledMemory(() => {
      // A software interpreter of the whole virtual CPU: always the interpreter, never compiled code.
      const m = runBareMachine(spec, 'interpreter');
      const c = new Counters();
      c.interpretedInstructions = m.retired;
      c.emulatedPortAccesses = m.dev.portReads + m.dev.portWrites;
      return bareOutcome(m, c);
    });
  },
};
