/** Building and running manifest workloads in tests. */
import { buildProgram, type BuiltImage, type KernelBuild } from '../../src/workload/build.js';
import { runBare, type RunResult } from '../../src/run/reference.js';
import type { WorkloadSpec } from '../../workloads/manifest.js';

const cache = new Map<string, BuiltImage>();

export function buildWorkload(w: WorkloadSpec, scale: number, build: KernelBuild = 'native'): BuiltImage {
  const key = `${w.name}/${scale}/${build}/${JSON.stringify(w.kernelOptions ?? {})}`;
  let b = cache.get(key);
  if (!b) {
    b = buildProgram({ program: w.program, scale, build, kernelOptions: w.kernelOptions });
    cache.set(key, b);
  }
  return b;
}

export function runWorkload(w: WorkloadSpec, scale: number): RunResult {
  return runBare(buildWorkload(w, scale).image, { budget: 500_000_000 });
}
