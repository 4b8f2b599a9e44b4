/**
 * Cost presets: a price in cycles for each kind of event, each with the source it comes from.
 *
 * The built-in presets are JSON files beside this module. A user preset is a JSON file of the same shape; it
 * may `extend` a built-in preset and override only some prices. A run's modeled cycles are its counts times
 * these prices (src/metrics/cost.ts) — nothing is ever priced per benchmark.
 */
import { readFileSync } from 'node:fs';
import p4 from './presets/p4-2006.json' with { type: 'json' };
import sandybridge from './presets/sandybridge-2011.json' with { type: 'json' };

export const PRICE_KEYS = [
  'directInstruction',
  'interpretedInstruction',
  'translatedInstruction',
  'translation',
  'inlineEmulation',
  'emulation',
  'trap',
  'callout',
  'vmExit',
  'vmcsRead',
  'vmcsWrite',
  'hypercall',
  'trapDelivery',
  'faultDelivery',
  'physicalDeviceAccess',
  'flagInstruction',
  'controlInstruction',
  'pageWalkReference',
  'vmmPageTableUpdate',
] as const;

export type PriceKey = (typeof PRICE_KEYS)[number];

export interface Price {
  readonly cycles: number;
  readonly source: string;
}

export interface CostPreset {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly prices: Readonly<Record<PriceKey, Price>>;
}

/** A preset file that cannot be used; the message says what is wrong and where. */
export class PresetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PresetError';
  }
}

/** The fields of a preset file. */
const PRESET_FIELDS = ['id', 'name', 'description', 'extends', 'prices'] as const;

function validate(raw: unknown, origin: string, base?: CostPreset): CostPreset {
  const fail = (why: string): never => {
    throw new PresetError(`${origin}: ${why}`);
  };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail('a preset must be a JSON object');
  const o = raw as Record<string, unknown>;
  // A misspelt key ("price") would otherwise be ignored, and the run priced by the base preset without a word.
  const unknown = Object.keys(o).filter((k) => !(PRESET_FIELDS as readonly string[]).includes(k));
  if (unknown.length > 0) fail(`unknown field ${unknown.map((k) => `"${k}"`).join(', ')}. Valid fields: ${PRESET_FIELDS.join(', ')}`);
  for (const k of ['id', 'name'] as const) {
    if (typeof o[k] !== 'string' || (o[k] as string).length === 0) fail(`"${k}" must be a non-empty string`);
  }
  const prices = o.prices ?? {};
  if (typeof prices !== 'object' || prices === null || Array.isArray(prices)) fail('"prices" must be an object');
  const out: Partial<Record<PriceKey, Price>> = {};
  const given = prices as Record<string, unknown>;
  for (const key of Object.keys(given)) {
    if (!(PRICE_KEYS as readonly string[]).includes(key)) {
      fail(`unknown price "${key}". Valid prices: ${PRICE_KEYS.join(', ')}`);
    }
  }
  for (const key of PRICE_KEYS) {
    const p = given[key];
    if (p === undefined) {
      if (base) {
        out[key] = base.prices[key];
        continue;
      }
      fail(`price "${key}" is missing (every price is required unless the preset "extends" a built-in one)`);
    }
    const pp = p as Record<string, unknown>;
    if (typeof pp !== 'object' || pp === null) fail(`price "${key}" must be an object { "cycles": N, "source": "..." }`);
    if (typeof pp.cycles !== 'number' || !Number.isFinite(pp.cycles) || pp.cycles < 0) {
      fail(`price "${key}": "cycles" must be a number >= 0, got ${JSON.stringify(pp.cycles)}`);
    }
    if (typeof pp.source !== 'string' || pp.source.trim() === '') fail(`price "${key}": "source" must say where the number comes from`);
    out[key] = { cycles: pp.cycles as number, source: pp.source as string };
  }
  return {
    id: o.id as string,
    name: o.name as string,
    description: typeof o.description === 'string' ? o.description : '',
    prices: out as Record<PriceKey, Price>,
  };
}

export const BUILTIN_PRESETS: readonly CostPreset[] = [validate(p4, 'p4-2006.json'), validate(sandybridge, 'sandybridge-2011.json')];
export const DEFAULT_PRESET_ID = 'p4-2006';
export const PRESET_IDS: readonly string[] = BUILTIN_PRESETS.map((p) => p.id);

export function presetById(id: string): CostPreset | undefined {
  return BUILTIN_PRESETS.find((p) => p.id === id);
}

/** Parse a user preset (JSON text). It may say "extends": "<built-in id>" and give only some prices. */
export function parsePreset(text: string, origin: string): CostPreset {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new PresetError(`${origin}: not valid JSON (${(err as Error).message})`);
  }
  let base: CostPreset | undefined;
  const ext = (raw as Record<string, unknown> | null)?.extends;
  if (ext !== undefined) {
    base = typeof ext === 'string' ? presetById(ext) : undefined;
    if (!base) throw new PresetError(`${origin}: "extends" must name a built-in preset: ${PRESET_IDS.join(', ')}`);
  }
  const preset = validate(raw, origin, base);
  // Results carry the preset's id: a file must not pass its prices off as a built-in preset's.
  if (presetById(preset.id)) throw new PresetError(`${origin}: "id" "${preset.id}" is a built-in preset's; give your preset an id of its own`);
  return preset;
}

/** A built-in preset by id, or a preset file by path. */
export function loadPreset(idOrPath: string): CostPreset {
  const builtin = presetById(idOrPath);
  if (builtin) return builtin;
  if (!idOrPath.endsWith('.json')) {
    throw new PresetError(`unknown preset '${idOrPath}'. Valid presets: ${PRESET_IDS.join(', ')}, or a path to a .json file`);
  }
  let text: string;
  try {
    text = readFileSync(idOrPath, 'utf8');
  } catch (err) {
    throw new PresetError(`cannot read preset file ${idOrPath}: ${(err as Error).message}`);
  }
  return parsePreset(text, idOrPath);
}
