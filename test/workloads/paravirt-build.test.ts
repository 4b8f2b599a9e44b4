/**
 * One source, two builds: the paravirtual kernel is the native kernel with only its sensitive operations
 * replaced. Proved three ways: the PARAVIRT switch appears in one file only (arch.s, the sensitive-operation
 * macros); outside that file both builds emit the same source lines in the same order with the same
 * instructions; and every privileged or sensitive instruction of the native build, and every hypercall of
 * the paravirtual one, comes from arch.s.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { INSTRUCTIONS, isPrivileged } from '../../src/isa/table.js';
import { WORKLOADS_DIR, type BuiltImage } from '../../src/workload/build.js';
import { WORKLOADS } from '../../workloads/manifest.js';
import { buildWorkload } from '../support/workloads.js';

const ARCH = 'kernel/arch.s';

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.s') ? [join(dir, e.name)] : [],
  );
}

/** Opcodes that are privileged or sensitive (everything the classic ISA makes privileged). */
const SENSITIVE = new Set(INSTRUCTIONS.filter((d) => isPrivileged(d, 'classic')).map((d) => d.opcode));
const VMCALL = INSTRUCTIONS.find((d) => d.name === 'vmcall')!.opcode;

interface Emitted {
  where: string;
  file: string;
  opcode: number;
}

/** Every emitted instruction-sized item with its source line and the opcode byte of its first word. */
function emitted(b: BuiltImage): Emitted[] {
  return b.assembly.lines
    .filter((l) => l.size === 4 || l.size === 8)
    .map((l) => {
      const file = relative(WORKLOADS_DIR, l.file);
      return { where: `${file}:${l.line}`, file, opcode: b.image[l.address + 3] };
    });
}

describe('the paravirtual build differs from the native build only at the sensitive operations', () => {
  it('PARAVIRT is tested only in kernel/arch.s', () => {
    const users = sourceFiles(WORKLOADS_DIR)
      .filter((f) => /^\s*\.(ifdef|ifndef|if)\b.*\bPARAVIRT\b/m.test(readFileSync(f, 'utf8')))
      .map((f) => relative(WORKLOADS_DIR, f));
    expect(users).toEqual([ARCH]);
  });

  for (const w of WORKLOADS) {
    it(`${w.name}: outside arch.s both builds emit the same lines with the same instructions`, () => {
      const native = emitted(buildWorkload(w, w.quickScale, 'native')).filter((e) => e.file !== ARCH);
      const pv = emitted(buildWorkload(w, w.quickScale, 'paravirt')).filter((e) => e.file !== ARCH);
      expect(pv.map((e) => e.where)).toEqual(native.map((e) => e.where));
      expect(pv.map((e) => e.opcode)).toEqual(native.map((e) => e.opcode));
    });
  }

  it('every privileged or sensitive instruction of the native kernel, and every hypercall of the paravirtual one, comes from arch.s', () => {
    const w = WORKLOADS.find((x) => x.name === 'mixed')!;
    const native = emitted(buildWorkload(w, w.quickScale, 'native'));
    const pv = emitted(buildWorkload(w, w.quickScale, 'paravirt'));
    const nativeSensitive = native.filter((e) => SENSITIVE.has(e.opcode));
    expect(nativeSensitive.length).toBeGreaterThan(20);
    expect(nativeSensitive.filter((e) => e.file !== ARCH)).toEqual([]);
    // The paravirtual kernel executes no privileged or sensitive instruction at all...
    expect(pv.filter((e) => SENSITIVE.has(e.opcode))).toEqual([]);
    // ...and calls the hypervisor only from the macros.
    const hypercalls = pv.filter((e) => e.opcode === VMCALL);
    expect(hypercalls.length).toBeGreaterThan(10);
    expect(hypercalls.filter((e) => e.file !== ARCH)).toEqual([]);
  });
});
