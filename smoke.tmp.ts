import fc from 'fast-check';
import { programArb } from './src/fuzz/arbitrary.ts';
import { runProgram } from './src/fuzz/differential.ts';
import { renderGenerated } from './src/fuzz/program.ts';
const n = Number(process.argv[2] ?? 50);
const progs = fc.sample(programArb(), { numRuns: n, seed: Number(process.argv[3] ?? 42) });
const t0 = performance.now();
const statuses: Record<string, number> = {};
const verdicts: Record<string, number> = {};
let insns = 0; const exc: Record<string, number> = {};
let shown = 0;
for (const p of progs) {
  const r = runProgram(p);
  const ref = r.reference.default!;
  const k = `${ref.status}/${ref.exitCode}`;
  statuses[k] = (statuses[k] ?? 0) + 1;
  insns += ref.counters.guestInstructions;
  for (const [e, c] of Object.entries(r.exceptions)) exc[e] = (exc[e] ?? 0) + c;
  for (const x of r.results) { const key = `${x.engine}/${x.isa}:${x.verdict}`; verdicts[key] = (verdicts[key] ?? 0) + 1; }
  if (r.failures.length && shown < 3) { shown++; console.log(renderGenerated(p)); for (const f of r.failures) console.log(f.engine, f.isa, f.why, f.fidelity.differences.slice(0,5)); }
}
console.log('ms', (performance.now() - t0).toFixed(0), 'avg insns', insns / n);
console.log(statuses); console.log(verdicts); console.log(exc);
