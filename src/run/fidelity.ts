/**
 * Fidelity: does an engine's run match the reference run?
 *
 * An engine that runs the unmodified guest is compared on everything: exit status and code, console output,
 * the guest instruction count, the final registers of the virtual CPU and a hash of guest RAM. An engine that
 * runs a modified guest (paravirt) can only be compared on what the guest shows: status, exit code and console.
 * In both cases a *silent* failure — a sensitive instruction that did the wrong thing without trapping, seen by
 * the fidelity oracle — makes the run diverged even if nothing else shows it.
 */
import type { EngineOutcome, SilentFailure } from '../../strategies/engine.js';

export type FidelityVerdict = 'exact' | 'diverged';

export interface Fidelity {
  verdict: FidelityVerdict;
  /** 'state': everything was compared; 'output': only status, exit code and console (modified guest). */
  compared: 'state' | 'output';
  /** Every observed difference, first one first. */
  differences: string[];
  /** Why it diverged, when the engine knows (a silently failing sensitive instruction). */
  cause: string | null;
}

const hex = (v: number): string => `0x${(v >>> 0).toString(16)}`;

function consoleDifference(ref: string, got: string): string | null {
  if (ref === got) return null;
  let i = 0;
  while (i < ref.length && i < got.length && ref[i] === got[i]) i++;
  const show = (s: string) => JSON.stringify(s.slice(Math.max(0, i - 20), i + 40));
  const lineNo = ref.slice(0, i).split('\n').length;
  return `console output differs at byte ${i} (line ${lineNo}): reference ${show(ref)}, got ${show(got)}`;
}

export function describeSilentFailure(f: SilentFailure): string {
  const times = f.count === 1 ? 'once' : `${f.count} times`;
  return `${f.instruction} at ${hex(f.pc)} (${times}, first after ${f.firstClock} instructions): ${f.detail}`;
}

export function compareWithReference(ref: EngineOutcome, got: EngineOutcome, compared: 'state' | 'output'): Fidelity {
  const differences: string[] = [];
  if (ref.status !== got.status) {
    differences.push(`status ${got.status} (${got.message}) instead of ${ref.status}`);
  } else if (ref.exitCode !== got.exitCode) {
    differences.push(`exit code ${got.exitCode} instead of ${ref.exitCode}`);
  }
  const c = consoleDifference(ref.console, got.console);
  if (c) differences.push(c);
  if (compared === 'state') {
    const rn = ref.counters.guestInstructions;
    const gn = got.counters.guestInstructions;
    if (rn !== gn) differences.push(`${gn} guest instructions retired instead of ${rn}`);
    const rr = ref.registers;
    const gr = got.registers;
    if (rr.pc !== gr.pc) differences.push(`final pc ${hex(gr.pc)} instead of ${hex(rr.pc)}`);
    if (rr.mode !== gr.mode) differences.push(`final mode ${gr.mode} instead of ${rr.mode}`);
    if (rr.flags !== gr.flags) differences.push(`final FLAGS ${hex(gr.flags)} instead of ${hex(rr.flags)}`);
    rr.r.forEach((v, i) => {
      if (v !== gr.r[i]) differences.push(`final r${i} ${hex(gr.r[i])} instead of ${hex(v)}`);
    });
    for (const [name, v] of Object.entries(rr.cr)) {
      if (gr.cr[name] !== v) differences.push(`final ${name} ${hex(gr.cr[name] ?? 0)} instead of ${hex(v)}`);
    }
    if (ref.memoryHash !== got.memoryHash) differences.push(`guest memory differs at the end (hash ${got.memoryHash} instead of ${ref.memoryHash})`);
  }
  const failures = got.silentFailures;
  for (const f of failures) differences.push(`silent failure: ${describeSilentFailure(f)}`);
  return {
    verdict: differences.length === 0 ? 'exact' : 'diverged',
    compared,
    differences,
    cause: summarizeCause(failures),
  };
}

/**
 * One sentence per offending instruction, in the order they first misbehaved: e.g. "rdmode silently misbehaved
 * once (first at 0x1008, after 3 instructions): ...; popf silently misbehaved 137525 times (...)". The first one
 * is where the run left the reference's path — everything that differs comes after it — while the most frequent
 * one may only be repeating inside a run that has already gone wrong.
 */
export function summarizeCause(failures: readonly SilentFailure[]): string | null {
  if (failures.length === 0) return null;
  const byInsn = new Map<string, { total: number; first: SilentFailure }>();
  for (const f of failures) {
    const e = byInsn.get(f.instruction);
    if (!e) byInsn.set(f.instruction, { total: f.count, first: f });
    else {
      e.total += f.count;
      if (f.firstClock < e.first.firstClock) e.first = f;
    }
  }
  return [...byInsn.entries()]
    .sort((a, b) => a[1].first.firstClock - b[1].first.firstClock || a[0].localeCompare(b[0]))
    .map(([name, { total, first }]) => {
      const times = total === 1 ? 'once' : `${total} times`;
      return `${name} silently misbehaved ${times} (first at ${hex(first.pc)}, after ${first.firstClock} instructions): ${first.detail}`;
    })
    .join('; ');
}
