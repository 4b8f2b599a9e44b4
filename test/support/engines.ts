/** Running engines on workloads in tests. */
import type { IsaVariant } from '../../src/isa/arch.js';
import { presetById } from '../../src/metrics/presets.js';
import { runCell, type CellResult } from '../../src/run/engine-run.js';
import { engineById } from '../../strategies/registry.js';
import type { EngineOptionValue } from '../../strategies/engine.js';
import { workloadByName } from '../../workloads/manifest.js';

export const P4 = presetById('p4-2006')!;

export function cell(
  engine: string,
  workload: string,
  opts: { isa?: IsaVariant; scale?: number; options?: Record<string, EngineOptionValue> } = {},
): CellResult {
  const e = engineById(engine);
  const w = workloadByName(workload);
  if (!e || !w) throw new Error(`no engine ${engine} or workload ${workload}`);
  return runCell({
    engine: e,
    guest: { kind: 'workload', workload: w, scale: opts.scale ?? w.quickScale },
    isa: opts.isa ?? 'default',
    preset: P4,
    options: opts.options,
  });
}

/** VMM entries of one kind and reason. */
export function reasonCount(r: CellResult, kind: string, reason: string): number {
  return r.reasons.find((x) => x.kind === kind && x.reason === reason)?.count ?? 0;
}
