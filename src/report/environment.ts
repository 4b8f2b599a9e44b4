/** The environment a benchmark ran in, for results.json and the report. */
import { execFileSync } from 'node:child_process';
import { cpus, release, type } from 'node:os';
import type { Environment } from './model.js';

function gitCommit(): string | null {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || null;
  } catch {
    return null;
  }
}

export function environment(): Environment {
  const cpu = cpus();
  return {
    node: process.version,
    v8: process.versions.v8,
    platform: process.platform,
    arch: process.arch,
    os: `${type()} ${release()}`,
    cpuModel: cpu[0]?.model?.trim() ?? 'unknown',
    cpus: cpu.length,
    gitCommit: gitCommit(),
  };
}
