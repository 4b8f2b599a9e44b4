import fc from 'fast-check';
import { programArb } from './src/fuzz/arbitrary.ts';
import { assembleProgram, runOn } from './src/fuzz/differential.ts';
import { renderGenerated } from './src/fuzz/program.ts';
import { engineById } from './strategies/registry.ts';
const progs = fc.sample(programArb(), { numRuns: 600, seed: 7 });
let shown = 0;
for (const p of progs) {
  const { image } = assembleProgram(p);
  const ref = runOn(engineById('native')!, image, 'default');
  if (ref.status === process.argv[2] && shown < 2) { shown++; console.log(ref.message); console.log(renderGenerated(p)); }
}
