/**
 * The engine registry. Adding an engine = writing one module that exports an `Engine` and listing it here
 * (docs/writing-an-engine.md). Everything else — the CLI, the benchmark matrix, reports — reads this list.
 */
import type { Engine } from './engine.js';
import { native } from './native.js';
import { emulate } from './emulate.js';
import { trapEmulate } from './trap-emulate.js';
import { dbt } from './dbt.js';
import { paravirt } from './paravirt.js';
import { vtx, vtxEpt } from './vtx.js';

/** The reference run first, then the strategies. */
export const ENGINES: readonly Engine[] = [native, emulate, trapEmulate, dbt, paravirt, vtx, vtxEpt];

/** The engine every other one is compared with. */
export const REFERENCE_ENGINE_ID = 'native';

export function engineById(id: string): Engine | undefined {
  return ENGINES.find((e) => e.id === id);
}

export const ENGINE_IDS: readonly string[] = ENGINES.map((e) => e.id);
