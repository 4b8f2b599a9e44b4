/** A deliberately broken engine for the fuzzing and lock-step tests: emulate, with one register wrong at the end. */
import type { Engine, EngineOutcome, RunSpec } from '../../strategies/engine.js';
import { engineById } from '../../strategies/registry.js';

/** emulate, except that its final `reg` is off by `delta` whenever `wrong(spec, outcome)` says so. */
export function brokenEmulate(id: string, reg: number, delta: number, wrong: (spec: RunSpec, out: EngineOutcome) => boolean): Engine {
  const emulate = engineById('emulate')!;
  return {
    ...emulate,
    id,
    run(spec) {
      const out = emulate.run(spec);
      if (wrong(spec, out)) out.registers = { ...out.registers, r: out.registers.r.map((v, i) => (i === reg ? (v + delta) >>> 0 : v)) };
      return out;
    },
  };
}
