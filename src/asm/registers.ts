/**
 * Register names, from the architectural constants: r0..r15 with the aliases sp and fp, and the control
 * registers cr0..cr15 with the names the disassembler prints (CR_NAMES).
 */
import { CR_NAMES, FP, NUM_CRS, NUM_REGS, SP } from '../isa/arch.js';

/** The number of general register `name` (case-insensitive), or undefined. */
export function registerNumber(name: string): number | undefined {
  const lower = name.toLowerCase();
  if (lower === 'sp') return SP;
  if (lower === 'fp') return FP;
  const m = /^r([0-9]{1,2})$/.exec(lower);
  if (!m || (m[1].length > 1 && m[1][0] === '0')) return undefined;
  const n = Number(m[1]);
  return n < NUM_REGS ? n : undefined;
}

export const isRegisterName = (name: string): boolean => registerNumber(name) !== undefined;

/** Looks like a general register but is not one (r16, r99, r01): worth a specific message. */
export const looksLikeRegister = (name: string): boolean => /^r[0-9]+$/i.test(name) && !isRegisterName(name);

const CR_BY_NAME = new Map<string, number>(Object.entries(CR_NAMES).map(([n, name]) => [name.toLowerCase(), Number(n)]));

/** The number of control register `name` (crN or a CR_NAMES name, case-insensitive), or undefined. */
export function controlRegisterNumber(name: string): number | undefined {
  const lower = name.toLowerCase();
  const named = CR_BY_NAME.get(lower);
  if (named !== undefined) return named;
  const m = /^cr([0-9]{1,2})$/.exec(lower);
  if (!m || (m[1].length > 1 && m[1][0] === '0')) return undefined;
  const n = Number(m[1]);
  return n < NUM_CRS ? n : undefined;
}

export const looksLikeControlRegister = (name: string): boolean =>
  /^cr[0-9]+$/i.test(name) && controlRegisterNumber(name) === undefined;

/** "cr0..cr15 or ctrl, tvb, ..." for messages. */
export const CONTROL_REGISTER_HELP = `cr0..cr${NUM_CRS - 1} or ${Object.values(CR_NAMES).join(', ')}`;
export const REGISTER_HELP = `r0..r${NUM_REGS - 1}, sp, fp`;
