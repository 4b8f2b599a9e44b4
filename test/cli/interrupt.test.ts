/**
 * Ctrl-C during `npm run bench` (issue 8): a real child process, interrupted with SIGINT after its first progress
 * line, exits at once with status 130 and says so; the previous report in the output folder is left byte for
 * byte, and no temporary file is left behind (bench/bench.ts, src/report/write.ts).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { REPORT_FILES, writeFilesAtomically } from '../../src/report/write.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface Interrupted {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/** Start a bench, send SIGINT when its first progress line ("[1/4] counts ...") appears, and wait for the end. */
function benchInterruptedAfterFirstCell(out: string, extra: string[]): Promise<Interrupted> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['bin/virtstrat.mjs', 'bench', '--quick', '--no-timing', '--engines', 'native,emulate', '--workloads', 'hello,syscall', '--out', out, ...extra],
      { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    let sent = false;
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk;
      if (!sent && /^\[1\/4\] counts/m.test(stderr)) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stderr }));
  });
}

describe('bench interrupted with Ctrl-C', () => {
  // Counts in worker threads (the default on a machine with two CPUs or more) and in the main thread (--jobs 1,
  // where the interrupt is handled when the counts are done, still before anything is written).
  for (const jobs of ['2', '1']) {
    it(`--jobs ${jobs}: exits 130 with a message; the previous report stays byte for byte, no temporary file is left`, async () => {
      const out = mkdtempSync(join(tmpdir(), 'virtstrat-sigint-'));
      const previous = new Map<string, string>(REPORT_FILES.map((f, i) => [f, `the previous ${f}, run ${i}\n`]));
      for (const [f, text] of previous) writeFileSync(join(out, f), text);
      writeFileSync(join(out, 'notes.txt'), 'not a report file\n');

      const r = await benchInterruptedAfterFirstCell(out, ['--jobs', jobs]);

      expect(r.signal, r.stderr).toBe(null);
      expect(r.code, r.stderr).toBe(130);
      expect(r.stderr).toMatch(/virtstrat bench: interrupted \(SIGINT\); nothing was written, the report in .* is unchanged\n$/);
      expect(r.stderr).not.toMatch(/^\s+at /m);
      expect(readdirSync(out).sort()).toEqual([...REPORT_FILES, 'notes.txt'].sort());
      for (const [f, text] of previous) expect(readFileSync(join(out, f), 'utf8'), f).toBe(text);
    });
  }
});

describe('the report is replaced atomically (src/report/write.ts)', () => {
  const previousReport = (): string => {
    const out = mkdtempSync(join(tmpdir(), 'virtstrat-write-'));
    for (const f of REPORT_FILES) writeFileSync(join(out, f), `old ${f}\n`);
    return out;
  };
  const fresh = Object.fromEntries(REPORT_FILES.map((f) => [f, `new ${f}\n`]));

  it('a write that cannot complete (a folder where a file must go) renames nothing and leaves no temporary file', () => {
    const out = previousReport();
    const blocked = REPORT_FILES[REPORT_FILES.length - 1];
    rmSync(join(out, blocked));
    mkdirSync(join(out, blocked)); // the last file to be renamed cannot be: the others must not be either
    expect(() => writeFilesAtomically(out, fresh)).toThrow(/is a folder/);
    expect(readdirSync(out).sort()).toEqual([...REPORT_FILES].sort());
    for (const f of REPORT_FILES.filter((f) => f !== blocked)) expect(readFileSync(join(out, f), 'utf8')).toBe(`old ${f}\n`);
  });

  it('temporary files of a writer that was killed outright are removed; a live writer\'s are left alone', () => {
    const out = previousReport();
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!; // has exited: no such process any more
    writeFileSync(join(out, `.results.json.tmp-${dead}`), 'half');
    writeFileSync(join(out, `.results.json.tmp-${process.ppid}`), 'in progress'); // our parent: alive
    expect(writeFilesAtomically(out, fresh)).toHaveLength(REPORT_FILES.length);
    expect(readdirSync(out).sort()).toEqual([...REPORT_FILES, `.results.json.tmp-${process.ppid}`].sort());
    for (const f of REPORT_FILES) expect(readFileSync(join(out, f), 'utf8')).toBe(`new ${f}\n`);
  });
});

