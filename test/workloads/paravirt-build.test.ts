/**
 * One source, two builds: the paravirtual kernel is the native kernel with only its sensitive operations
 * replaced. Proved three ways: the PARAVIRT switch appears in one file only (arch.s, the sensitive-operation
 * macros); outside that file both builds emit the same source lines in the same order with the same
 * instructions on the same registers (immediates may differ: they hold addresses that move); and in every
 * workload's build, every privileged or sensitive instruction of the native kernel, and every hypercall of the
 * paravirtual one, comes from arch.s.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { insnByOpcode, INSTRUCTIONS, isPrivileged } from '../../src/isa/table.js';
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
  /** The instruction words without their immediates: opcode and register fields. */
  fields: number[];
}

const word = (b: BuiltImage, at: number): number =>
  (b.image[at] | (b.image[at + 1] << 8) | (b.image[at + 2] << 16) | (b.image[at + 3] << 24)) >>> 0;

/**
 * An instruction word without its immediate, which may hold an address that moves between the builds (arch.s's
 * macros have other sizes): opcode, rd and rs of an immediate form, the whole word of a register form, the opcode
 * of a branch. A data word keeps only its top byte.
 */
function withoutImmediate(w: number): number {
  const d = insnByOpcode(w >>> 24);
  if (!d) return (w & 0xff000000) >>> 0;
  if (d.imm === 'off24') return (w & 0xff000000) >>> 0;
  if (d.imm !== undefined) return (w & 0xffff0000) >>> 0;
  return w;
}

/** Every emitted instruction-sized item (an instruction, `li`'s pair, a data word) with its source line. */
function emitted(b: BuiltImage): Emitted[] {
  return b.assembly.lines
    .filter((l) => l.size === 4 || l.size === 8)
    .map((l) => {
      const file = relative(WORKLOADS_DIR, l.file);
      const words = l.size === 8 ? [word(b, l.address), word(b, l.address + 4)] : [word(b, l.address)];
      return { where: `${file}:${l.line}`, file, opcode: b.image[l.address + 3], fields: words.map(withoutImmediate) };
    });
}

describe('the paravirtual build differs from the native build only at the sensitive operations', () => {
  it('PARAVIRT is tested only in kernel/arch.s', () => {
    const users = sourceFiles(WORKLOADS_DIR)
      .filter((f) => /^\s*\.(ifdef|ifndef|if|elif)\b.*\bPARAVIRT\b/m.test(readFileSync(f, 'utf8')))
      .map((f) => relative(WORKLOADS_DIR, f));
    expect(users).toEqual([ARCH]);
  });

  for (const w of WORKLOADS) {
    it(`${w.name}: outside arch.s both builds emit the same lines with the same instructions`, () => {
      const native = emitted(buildWorkload(w, w.quickScale, 'native')).filter((e) => e.file !== ARCH);
      const pv = emitted(buildWorkload(w, w.quickScale, 'paravirt')).filter((e) => e.file !== ARCH);
      expect(pv.map((e) => e.where)).toEqual(native.map((e) => e.where));
      expect(pv.map((e) => `${e.where} ${e.fields.map((f) => f.toString(16)).join(' ')}`)).toEqual(
        native.map((e) => `${e.where} ${e.fields.map((f) => f.toString(16)).join(' ')}`),
      );
    });

    it(`${w.name}: every privileged or sensitive instruction of the native build, and every hypercall of the paravirtual one, comes from arch.s`, () => {
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
  }
});
