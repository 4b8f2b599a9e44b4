/**
 * The Popek–Goldberg classifier: the instruction table's declared class of every instruction must be what the
 * hardware model does (so the table cannot drift from the hardware), the theorem verdicts on both ISAs, the
 * witnesses, determinism, and — with a test copy of the table whose semantics were changed — that the
 * agreement check really fails when the hardware stops matching the declarations.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { classify, type Classification, type InsnClassification } from '../../src/classify/index.js';
import { FLAG_IF, VEC_PRIVILEGE } from '../../src/isa/arch.js';
import { declaredClass, INSTRUCTIONS, type InsnDef } from '../../src/isa/table.js';
import { cli } from '../support/cli.js';

const byName = (c: Classification, name: string): InsnClassification => {
  const i = c.instructions.find((x) => x.name === name);
  if (!i) throw new Error(`no ${name} in the classification`);
  return i;
};

const PRIVILEGED = ['cli', 'sti', 'hlt', 'iret', 'in', 'out', 'mfcr', 'mtcr', 'invlpg'];

describe('the table agrees with the hardware model', () => {
  const results: Partial<Record<'default' | 'classic', Classification>> = {};
  beforeAll(() => {
    results.default = classify('default');
    results.classic = classify('classic');
  });

  // What this checks is the class (innocuous, privileged, trapping, sensitive-unprivileged: declaredClass in
  // src/isa/table.ts), not the declared kind of sensitivity (control or behaviour, user-sensitivity): a table entry
  // could name the wrong kind without failing it — syscall and vmcall declare a control sensitivity the classifier,
  // by design, never observes, since they trap in both modes. docs/popek-goldberg.md §5 says so too.
  for (const isa of ['default', 'classic'] as const) {
    it(`${isa} ISA: every instruction's empirical class is its declared class`, () => {
      const c = results[isa]!;
      expect(c.instructions.map((i) => i.name)).toEqual(INSTRUCTIONS.map((d) => d.name));
      const mismatches = c.instructions.filter((i) => i.empirical !== declaredClass(INSTRUCTIONS.find((d) => d.name === i.name)!, isa));
      expect(mismatches.map((i) => `${i.name}: declared ${i.declared}, observed ${i.empirical}`)).toEqual([]);
      expect(c.disagreements).toEqual([]);
    });
  }

  it('default ISA: the expected sets; Theorem 1 fails because of exactly pushf, popf and rdmode', () => {
    const c = results.default!;
    expect(c.sets.privileged).toEqual(PRIVILEGED);
    expect(c.sets.trapping).toEqual(['syscall', 'vmcall']);
    expect(c.sets.sensitiveUnprivileged).toEqual(['pushf', 'popf', 'rdmode']);
    expect(c.sets.sensitive).toEqual([...PRIVILEGED, 'pushf', 'popf', 'rdmode']);
    expect(c.theorems.theorem1).toMatchObject({ holds: false, offending: ['pushf', 'popf', 'rdmode'], condition: 'sensitive ⊆ privileged' });
  });

  it('default ISA: Theorem 3 fails because pushf reveals IF in user mode; popf and rdmode are harmless there', () => {
    const c = results.default!;
    expect(c.sets.userSensitive).toEqual(['pushf']);
    expect(c.theorems.theorem3).toMatchObject({ holds: false, offending: ['pushf'] });
    expect(byName(c, 'popf').userSensitive).toBe(false);
    expect(byName(c, 'rdmode').userSensitive).toBe(false);
  });

  it('classic ISA: pushf, popf and rdmode are privileged, and both theorems hold', () => {
    const c = results.classic!;
    expect(c.sets.privileged).toEqual([...PRIVILEGED, 'pushf', 'popf', 'rdmode']);
    expect(c.sets.sensitiveUnprivileged).toEqual([]);
    expect(c.sets.userSensitive).toEqual([]);
    expect(c.theorems.theorem1).toMatchObject({ holds: true, offending: [] });
    expect(c.theorems.theorem3).toMatchObject({ holds: true, offending: [] });
  });

  it('privileged means #GP in user mode from every state and never in supervisor mode', () => {
    for (const name of PRIVILEGED) {
      const i = byName(results.default!, name);
      expect(i.user.privilegeFaults, name).toBe(i.user.runs);
      expect(i.supervisor.privilegeFaults, name).toBe(0);
      expect(i.supervisor.completed, name).toBeGreaterThan(0);
      const w = i.witnesses.find((x) => x.kind === 'privileged')!;
      expect(w.states.map((s) => s.mode)).toEqual(['user', 'supervisor']);
      expect(w.outcomes[0]).toMatch(new RegExp(`vector ${VEC_PRIVILEGE}`));
    }
    const add = byName(results.default!, 'add');
    expect(add.user.completed).toBe(add.user.runs);
  });

  it('the witnesses show the differences that prove each property', () => {
    const c = results.default!;
    const popf = byName(c, 'popf').witnesses;
    const control = popf.find((w) => w.kind === 'control')!;
    expect(control.states[0].mode).toBe('supervisor');
    expect(control.differences).toEqual([expect.stringMatching(/^IF [01] → [01]$/)]);
    expect(popf.find((w) => w.kind === 'unprivileged')!.states[0].mode).toBe('user');

    const pushf = byName(c, 'pushf').witnesses.find((w) => w.kind === 'iflag' && w.userMode)!;
    expect(pushf.states.map((s) => s.mode)).toEqual(['user', 'user']);
    expect(pushf.states[0].iflag).not.toBe(pushf.states[1].iflag);
    const [, a, b] = /= 0x([0-9a-f]+) \(A\) vs 0x([0-9a-f]+) \(B\)/.exec(pushf.differences[0])!;
    expect((parseInt(a, 16) ^ parseInt(b, 16)) >>> 0).toBe(FLAG_IF); // the pushed words differ in IF only

    const rdmode = byName(c, 'rdmode').witnesses.find((w) => w.kind === 'mode')!;
    expect(rdmode.states.map((s) => s.mode)).toEqual(['supervisor', 'user']);
    expect(rdmode.differences[0]).toMatch(/^r\d+ = 0x00000000 \(A\) vs 0x00000001 \(B\)$/);

    const mfcr = byName(c, 'mfcr').witnesses.find((w) => w.kind === 'location')!;
    expect(mfcr.instruction).toMatch(/^mfcr (r\d+|sp|fp), ptbr$/);
    expect(mfcr.states[0].cr.ptbr).not.toBe(mfcr.states[1].cr.ptbr);
    expect(byName(c, 'invlpg').witnesses.some((w) => w.kind === 'control' && w.differences.some((d) => d.startsWith('memory map:')))).toBe(true);
    expect(byName(c, 'syscall').witnesses.map((w) => w.kind)).toEqual(['trapping']);
    expect(byName(c, 'add').witnesses).toEqual([]);
  });
});

describe('determinism', () => {
  it('the same seed gives identical results; another seed other witnesses but the same verdicts', () => {
    const a = classify('default', { seed: 7, states: 20 });
    const b = classify('default', { seed: 7, states: 20 });
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
    const other = classify('default', { seed: 8, states: 20 });
    expect(JSON.stringify(other.instructions.map((i) => i.witnesses))).not.toBe(JSON.stringify(a.instructions.map((i) => i.witnesses)));
    expect(other.sets).toEqual(a.sets);
  });
});

/** A test copy of the table with one instruction's semantics replaced (its declarations unchanged). */
function mutated(name: string, exec: InsnDef['exec']): InsnDef[] {
  expect(INSTRUCTIONS.some((d) => d.name === name)).toBe(true);
  return INSTRUCTIONS.map((d) => (d.name === name ? { ...d, exec } : d));
}

describe('a table whose semantics drift from its declarations fails the agreement check', () => {
  const cases: { what: string; isa: 'default' | 'classic'; name: string; exec: InsnDef['exec']; observed: string; check?: (i: InsnClassification) => void }[] = [
    {
      what: 'add also adds the mode (mode-sensitive)',
      isa: 'default',
      name: 'add',
      exec: (e) => e.set('rd', `(${e.r('rs')} + ${e.r('rt')} + ${e.mode}) | 0`),
      observed: 'sensitive-unprivileged',
      check: (i) => expect(i.behaviourSensitive).toEqual({ mode: true, iflag: false, location: false }),
    },
    {
      what: 'popf ignores IF in supervisor mode too',
      isa: 'default',
      name: 'popf',
      exec: (e) => `${e.pop('t')} ${e.setConditionFlags('t')}`,
      observed: 'innocuous',
    },
    {
      what: 'rdmode always reads 0 (its sensitivity dropped)',
      isa: 'default',
      name: 'rdmode',
      exec: (e) => e.set('rd', '0'),
      observed: 'innocuous',
    },
    {
      what: 'mov reads the page-table base, like x86 SGDT (location-sensitive, in user mode too)',
      isa: 'default',
      name: 'mov',
      exec: (e) => e.set('rd', 'S.cr[3]'),
      observed: 'sensitive-unprivileged',
      check: (i) => expect([i.behaviourSensitive.location, i.userSensitive]).toEqual([true, true]),
    },
    {
      what: 'nop clears IF (control-sensitive, in user mode too)',
      isa: 'default',
      name: 'nop',
      exec: (e) => e.setIF('0'),
      observed: 'sensitive-unprivileged',
      check: (i) => expect([i.controlSensitive, i.userSensitive]).toEqual([true, true]),
    },
    {
      what: 'add raises #GP in user mode (privileged in fact, innocuous on paper)',
      isa: 'classic',
      name: 'add',
      exec: (e) => `if (${e.mode} !== 0) { ${e.fault(VEC_PRIVILEGE)} } ${e.set('rd', `(${e.r('rs')} + ${e.r('rt')}) | 0`)}`,
      observed: 'privileged',
    },
  ];
  for (const k of cases) {
    it(`${k.isa} ISA: ${k.what}`, () => {
      const table = mutated(k.name, k.exec);
      const c = classify(k.isa, { table, only: [k.name, 'sub'], states: 40 });
      expect(c.disagreements).toEqual([{ name: k.name, declared: declaredClass(INSTRUCTIONS.find((d) => d.name === k.name)!, k.isa), empirical: k.observed }]);
      expect(byName(c, 'sub').agrees).toBe(true); // the untouched neighbour still agrees
      k.check?.(byName(c, k.name));
    });
  }

  it('the mutated instruction joins the offenders of Theorem 1, and the real table is untouched', () => {
    const c = classify('default', { table: mutated('add', (e) => e.set('rd', `(${e.r('rs')} + ${e.r('rt')} + ${e.mode}) | 0`)), only: ['add', 'pushf', 'popf', 'rdmode'] });
    expect(c.theorems.theorem1.offending).toEqual(['add', 'pushf', 'popf', 'rdmode']);
    expect(classify('default', { only: ['add'], states: 20 }).disagreements).toEqual([]);
  });
});

describe('virtstrat classify', () => {
  it('prints the table, the sets, both verdicts and a witness per offending instruction', async () => {
    const r = await cli('classify');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^Popek–Goldberg classification of the default ISA on the hardware model \(seed 1, 64 states per instruction/);
    expect(r.out).toMatch(/^instruction +opcode +declared +empirical +priv +trap +ctrl +behav +user$/m);
    expect(r.out).toMatch(/^popf +0x4c +sensitive-unprivileged +sensitive-unprivileged +- +- +C +- +-$/m);
    expect(r.out).toMatch(/^pushf +0x4b +sensitive-unprivileged +sensitive-unprivileged +- +- +- +I +U$/m);
    expect(r.out).toMatch(/^cli +0x42 +privileged +privileged +P +- +C/m);
    expect(r.out).toMatch(/^sensitive, not privileged \(3\): +pushf popf rdmode$/m);
    expect(r.out).toMatch(/sensitive ⊆ privileged: FAILS: pushf, popf and rdmode are sensitive but not privileged/);
    expect(r.out).toMatch(/user-sensitive ⊆ privileged: FAILS: pushf is sensitive in user mode/);
    for (const name of ['pushf', 'popf', 'rdmode']) expect(r.out).toMatch(new RegExp(`^  ${name} — sensitive, not privileged`, 'm'));
    expect(r.out).toMatch(/\[control-sensitive\] popf \(word 0x4c000000\)\n +state #\d+: supervisor, IF = [01], .*\n +→ completed: IF [01] → [01]/);
    expect(r.out).not.toMatch(/DISAGREE/);
  });

  it('--isa classic: both conditions hold', async () => {
    const r = await cli('classify', '--isa', 'classic', '--states', '24');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/sensitive ⊆ privileged: HOLDS/);
    expect(r.out).toMatch(/user-sensitive ⊆ privileged: HOLDS/);
    expect(r.out).toMatch(/No instruction breaks either condition/);
  });

  it('--json: the classification object, identical to the API with the same seed', async () => {
    const r = await cli('classify', '--json', '--seed', '5', '--states', '24');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out) as Classification;
    expect(Object.keys(j)).toEqual(['isa', 'seed', 'states', 'runs', 'instructions', 'sets', 'theorems', 'disagreements']);
    expect(j).toMatchObject({ isa: 'default', seed: 5, states: 24, disagreements: [] });
    expect(j.instructions).toHaveLength(INSTRUCTIONS.length);
    expect(Object.keys(j.instructions[0]).sort()).toEqual(
      ['agrees', 'behaviourSensitive', 'controlSensitive', 'declared', 'empirical', 'name', 'opcode', 'privileged', 'sensitive', 'supervisor', 'trapping', 'user', 'userSensitive', 'witnesses'].sort(),
    );
    expect(j.theorems.theorem1).toMatchObject({ theorem: 1, holds: false, offending: ['pushf', 'popf', 'rdmode'] });
    expect(j.theorems.theorem3).toMatchObject({ theorem: 3, holds: false, offending: ['pushf'] });
    const w = j.instructions.find((i) => i.name === 'popf')!.witnesses.find((x) => x.kind === 'control')!;
    expect(w.states[0]).toMatchObject({ mode: 'supervisor', regs: expect.any(Array), cr: expect.objectContaining({ ptbr: expect.any(Number) }) });
    expect(r.out).toBe(`${JSON.stringify(classify('default', { seed: 5, states: 24 }), null, 2)}\n`);
    const classic = JSON.parse((await cli('classify', '--json', '--isa', 'classic', '--states', '24')).out) as Classification;
    expect(classic.theorems.theorem1).toMatchObject({ holds: true, offending: [] });
  });

  it('bad flags are usage errors', async () => {
    for (const [args, message] of [
      [['--isa', 'arm'], /'arm' is not valid. Valid values: default, classic/],
      [['--seed', 'abc'], /--seed: 'abc' is not a whole number/],
      [['--seed=-1'], /--seed: '-1' is not a whole number/],
      [['--states', '19'], /--states: at least 20/],
      [['extra'], /classify takes no arguments/],
    ] as const) {
      const r = await cli('classify', ...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err).toMatch(message);
    }
  });
});
