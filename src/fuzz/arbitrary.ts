/**
 * fast-check arbitraries for generated programs (src/fuzz/program.ts).
 *
 * Every instruction comes from the table through its shape (src/fuzz/shapes.ts): which instructions are plain
 * operations, which need a memory operand, which transfer control and so only appear inside a construct, which
 * are system operations. Operand values are biased towards what makes instructions misbehave — zero divisors,
 * extreme values, misaligned and protected addresses, undefined control registers, unassigned ports.
 */
import fc from 'fast-check';
import {
  CR_CTRL,
  CR_ECODE,
  CR_FAULTADDR,
  CR_KSP,
  CR_PTBR,
  CR_TPR,
  CR_TVB,
  FLAG_IF,
  FLAGS_MASK,
  NUM_CRS,
  PORT_CONSOLE_DATA,
  PORT_CONSOLE_STATUS,
  PORT_DISK_ADDR,
  PORT_DISK_COUNT,
  PORT_DISK_IRQ,
  PORT_DISK_SECTOR,
  PORT_DISK_SIZE,
  PORT_DISK_STATUS,
  PORT_POWER,
  PORT_TIMER_COUNT,
  PORT_TIMER_PERIOD,
  VALID_CRS,
} from '../isa/arch.js';
import { immRange } from '../isa/encoding.js';
import type { SystemOp } from '../isa/table.js';
import {
  KSP_VALUES,
  LOAD_REGIONS,
  PD_A,
  PD_B,
  REGION_BASE,
  REGION_SIZE,
  REMAP_BITS,
  REMAPPABLE_PAGES,
  STORE_REGIONS,
  VECTORS,
  type Region,
} from './layout.js';
import { WRITABLE_REGS, type CodeMode, type FetchTarget, type FlatItem, type Item, type Op, type Program } from './program.js';
import { SHAPES, UNDEFINED_OPCODES, type InsnShape } from './shapes.js';

/** A port nothing is attached to (reads 0xffffffff, writes are ignored). */
export const UNASSIGNED_PORT = 0x77;
const READ_PORTS = [
  PORT_CONSOLE_STATUS,
  PORT_TIMER_PERIOD,
  PORT_TIMER_COUNT,
  PORT_DISK_STATUS,
  PORT_DISK_SIZE,
  PORT_DISK_SECTOR,
  PORT_DISK_ADDR,
  PORT_DISK_COUNT,
  PORT_CONSOLE_DATA,
  PORT_POWER,
  UNASSIGNED_PORT,
];

const anyReg = fc.integer({ min: 0, max: 15 });
const writableReg = fc.constantFrom(...WRITABLE_REGS);
const u32 = fc.integer({ min: 0, max: 0xffffffff });

/** Register values that make instructions take their unusual paths. */
const interestingValue: fc.Arbitrary<number> = fc.oneof(
  { arbitrary: fc.constantFrom(0, 1, 2, 4, 0xffffffff, 0x7fffffff, 0x80000000, 31, 32), weight: 3 },
  { arbitrary: fc.integer({ min: 0, max: 255 }), weight: 2 },
  { arbitrary: u32, weight: 2 },
  { arbitrary: fc.constantFrom(...LOAD_REGIONS.map((r) => REGION_BASE[r])), weight: 1 },
);

function immArb(kind: 's16' | 'u16' | 'u5' | 'off24'): fc.Arbitrary<number> {
  const [lo, hi] = immRange(kind);
  return fc.oneof(
    { arbitrary: fc.integer({ min: Math.max(lo, -8), max: Math.min(hi, 8) }), weight: 3 },
    { arbitrary: fc.constantFrom(lo, hi, 0), weight: 1 },
    { arbitrary: fc.integer({ min: lo, max: hi }), weight: 2 },
  );
}

/** Operand fields for one instruction, as its shape allows (written registers are never reserved ones). */
function opArb(shape: InsnShape): fc.Arbitrary<Op> {
  const d = shape.def;
  const has = (k: string): boolean => (d.operands as readonly string[]).includes(k);
  const cr = fc.integer({ min: 0, max: NUM_CRS - 1 });
  return fc.record({
    name: fc.constant(d.name),
    rd: has('crd') ? cr : shape.writes.has('rd') ? writableReg : anyReg,
    rs: has('crs') ? cr : anyReg,
    rt: anyReg,
    imm: has('port') ? fc.oneof(fc.constantFrom(...READ_PORTS), fc.integer({ min: 0, max: 0xffff })) : d.imm ? immArb(d.imm) : fc.constant(0),
  });
}

/** Pick a shape, then its operands. */
function opsFrom(shapes: readonly InsnShape[]): fc.Arbitrary<Op> {
  return fc.constantFrom(...shapes).chain(opArb);
}

const byKind = (k: InsnShape['kind']): InsnShape[] => SHAPES.filter((s) => s.kind === k);
/** The instructions that change or reveal IF or the mode (cli, sti, pushf, popf, rdmode): the interesting few. */
const SENSITIVE_PLAIN = SHAPES.filter((s) => (s.kind === 'register' || s.kind === 'stack') && (s.setsIF || s.audited));
const ALU = byKind('register').filter((s) => !s.setsIF && !s.audited);
const STACK = byKind('stack').filter((s) => !s.setsIF && !s.audited);
const TRAPS = byKind('trap');
const SYSTEM = byKind('system');
const MEMORY = byKind('memory');
const BRANCHES = byKind('branch');
const COMPARES = SHAPES.filter((s) => s.compares);
const JUMPS = byKind('jump');
const hasOperand = (s: InsnShape, k: string): boolean => (s.def.operands as readonly string[]).includes(k);
/** Subroutine calls (call, callr), plain jumps (jmp, jmpr), and the register-indirect ones a fetch fault uses. */
const CALL_VIA = JUMPS.filter((s) => s.pushes).map((s) => s.def.name);
const SKIP_VIA = JUMPS.filter((s) => !s.pushes && !s.pops).map((s) => s.def.name);
const FETCH_VIA = JUMPS.filter((s) => hasOperand(s, 'rs')).map((s) => s.def.name);
const IMM_OPS = ALU.filter((s) => s.def.imm === 's16' || s.def.imm === 'u16');

/**
 * System operations a supervisor body may run as a plain instruction. `out`, `mtcr` and `invlpg` need their
 * value set up first (they get items of their own) and `iret` needs a frame (its own item too).
 */
const SUPERVISOR_PLAIN_SYSTEM: Readonly<Record<SystemOp, boolean>> = {
  hlt: true,
  iret: false,
  in: true,
  out: false,
  mfcr: true,
  mtcr: false,
  invlpg: false,
  vmcall: true,
};

interface Context {
  mode: CodeMode;
  /** Inside a subroutine: no stack items, so `ret` finds its return address. */
  inCall: boolean;
}

function plainOp(ctx: Context): fc.Arbitrary<Op> {
  const system = SYSTEM.filter((s) => ctx.mode === 'user' || SUPERVISOR_PLAIN_SYSTEM[s.system!]);
  const stackOk = (s: InsnShape): boolean => !ctx.inCall || (!s.pushes && !s.pops);
  const choices: { arbitrary: fc.Arbitrary<Op>; weight: number }[] = [
    { arbitrary: opsFrom(ALU), weight: 12 },
    { arbitrary: opsFrom(SENSITIVE_PLAIN.filter(stackOk)), weight: 6 },
    { arbitrary: opsFrom(system), weight: ctx.mode === 'user' ? 5 : 3 },
    { arbitrary: opsFrom(TRAPS), weight: 1 },
  ];
  if (!ctx.inCall) choices.push({ arbitrary: opsFrom(STACK), weight: 3 });
  return fc.oneof(...choices);
}

function memItem(): fc.Arbitrary<FlatItem> {
  return fc.constantFrom(...MEMORY).chain((s) => {
    const load = s.writes.size > 0;
    const word = s.def.name.endsWith('w'); // ldw/stw vs ldb/stb: word accesses must be aligned
    const regions = load ? LOAD_REGIONS : STORE_REGIONS;
    // Beyond the end of RAM is a machine check with paging off: it ends the program, so it is rarer.
    const region = fc.oneof(...regions.map((r) => ({ arbitrary: fc.constant(r), weight: r === 'beyond' ? 1 : 5 })));
    return region.chain((region: Region) => {
      const size = REGION_SIZE[region];
      const aligned = fc.integer({ min: 0, max: size / 4 - 1 }).map((x) => x * 4);
      const offset = word ? fc.oneof({ arbitrary: aligned, weight: 6 }, { arbitrary: fc.integer({ min: 0, max: size - 1 }), weight: 1 }) : fc.integer({ min: 0, max: size - 1 });
      return fc.record({
        k: fc.constant('mem' as const),
        name: fc.constant(s.def.name),
        rd: load ? writableReg : anyReg,
        base: writableReg,
        region: fc.constant(region),
        offset,
        disp: fc.oneof(fc.constant(0), fc.integer({ min: -64, max: 64 })),
      });
    });
  });
}

/** A value for `out port`, per port: sensible for the device, except the unassigned port. */
function outItem(): fc.Arbitrary<FlatItem> {
  const portValue = fc.oneof(
    { arbitrary: fc.tuple(fc.constant(PORT_CONSOLE_DATA), fc.integer({ min: 0x20, max: 0x7e })), weight: 4 },
    { arbitrary: fc.tuple(fc.constant(PORT_TIMER_PERIOD), fc.oneof(fc.constant(0), fc.integer({ min: 20, max: 300 }))), weight: 3 },
    { arbitrary: fc.tuple(fc.constant(PORT_DISK_SECTOR), fc.integer({ min: 0, max: 15 })), weight: 1 },
    { arbitrary: fc.tuple(fc.constant(PORT_DISK_IRQ), fc.integer({ min: 0, max: 1 })), weight: 1 },
    { arbitrary: fc.tuple(fc.constant(UNASSIGNED_PORT), u32), weight: 1 },
    { arbitrary: fc.tuple(fc.constant(PORT_POWER), fc.integer({ min: 0, max: 255 })), weight: 1 },
  );
  return fc.record({ k: fc.constant('out' as const), pv: portValue, reg: writableReg }).map(({ pv, reg }) => ({ k: 'out' as const, port: pv[0], value: pv[1], reg }));
}

/** `mtcr`: values that keep the runtime working (vectors, stacks, page tables) — and undefined registers (#UD). */
function mtcrItem(): fc.Arbitrary<FlatItem> {
  const invalid = Array.from({ length: NUM_CRS }, (_, n) => n).filter((n) => !VALID_CRS.includes(n));
  const valueOf: Record<number, fc.Arbitrary<number>> = {
    [CR_CTRL]: fc.constantFrom(0, 1),
    [CR_TVB]: fc.constant(VECTORS),
    [CR_FAULTADDR]: u32,
    [CR_PTBR]: fc.constantFrom(PD_A, PD_B),
    [CR_KSP]: fc.constantFrom(...KSP_VALUES),
    [CR_ECODE]: u32,
    [CR_TPR]: fc.integer({ min: 0, max: 15 }),
  };
  const cr = fc.oneof({ arbitrary: fc.constantFrom(...VALID_CRS), weight: 6 }, { arbitrary: fc.constantFrom(...invalid), weight: 1 });
  return cr.chain((n) => fc.record({ k: fc.constant('mtcr' as const), cr: fc.constant(n), value: valueOf[n] ?? u32, reg: writableReg }));
}

const regionAddress = fc.constantFrom(...LOAD_REGIONS).chain((r) => fc.integer({ min: 0, max: REGION_SIZE[r] - 1 }).map((o) => REGION_BASE[r] + o));

function smcItem(ctx: Context): fc.Arbitrary<FlatItem> {
  const common = { before: fc.boolean(), reg: writableReg, reg2: writableReg };
  const word = fc.record({ k: fc.constant('smc' as const), store: fc.constant('stw' as const), patch: plainOp(ctx), byte: fc.constant(0), ...common });
  const byte = fc.record({ k: fc.constant('smc' as const), store: fc.constant('stb' as const), patch: opsFrom(IMM_OPS), byte: fc.integer({ min: 0, max: 255 }), ...common });
  // Two different registers: the address must survive the loading of the value.
  return fc.oneof(word, byte).filter((it) => it.reg !== it.reg2);
}

function flatItem(ctx: Context): fc.Arbitrary<FlatItem> {
  const fetchTargets: FetchTarget[] = ['unmapped', 'supervisor-page', 'user-page', 'misaligned'];
  const fetchVia = FETCH_VIA.filter((v) => !ctx.inCall || !CALL_VIA.includes(v));
  const choices: { arbitrary: fc.Arbitrary<FlatItem>; weight: number }[] = [
    { arbitrary: plainOp(ctx).map((op) => ({ k: 'op' as const, op })), weight: 120 },
    { arbitrary: fc.record({ k: fc.constant('li' as const), rd: writableReg, value: interestingValue }), weight: 12 },
    { arbitrary: memItem(), weight: 48 },
    { arbitrary: smcItem(ctx), weight: 12 },
    { arbitrary: fc.record({ k: fc.constant('undef' as const), opcode: fc.constantFrom(...UNDEFINED_OPCODES), low: fc.integer({ min: 0, max: 0xffffff }) }), weight: 6 },
    {
      arbitrary: fc.record({
        k: fc.constant('fetch' as const),
        target: fc.constantFrom(...fetchTargets),
        via: fc.constantFrom(...fetchVia),
        offset: fc.integer({ min: 0, max: 0xfff }),
        reg: writableReg,
      }),
      weight: 9,
    },
    { arbitrary: fc.constant({ k: 'spin' as const }), weight: 1 },
  ];
  if (ctx.mode === 'supervisor') {
    choices.push(
      { arbitrary: outItem(), weight: 12 },
      { arbitrary: mtcrItem(), weight: 12 },
      { arbitrary: fc.record({ k: fc.constant('invlpg' as const), addr: regionAddress, reg: writableReg }), weight: 6 },
      { arbitrary: fc.record({ k: fc.constant('iret' as const), flags: fc.integer({ min: 0, max: FLAGS_MASK }).map((f) => f & FLAGS_MASK), reg: writableReg }), weight: 6 },
      {
        arbitrary: fc
          .record({
            k: fc.constant('disk' as const),
            sector: fc.integer({ min: 0, max: 15 }),
            block: fc.integer({ min: 0, max: 7 }),
            count: fc.integer({ min: 1, max: 2 }),
            write: fc.boolean(),
            irq: fc.boolean(),
            poll: fc.boolean(),
            reg: writableReg,
            reg2: writableReg,
          })
          .filter((it) => it.reg !== it.reg2)
          .map(({ block, count, ...rest }) => ({ ...rest, offset: block * 512, count: Math.min(count, 8 - block) })),
        weight: 6,
      },
      {
        arbitrary: fc
          .record({ k: fc.constant('pte' as const), page: fc.constantFrom(...REMAPPABLE_PAGES), frame: fc.constantFrom(...REMAPPABLE_PAGES), bits: fc.constantFrom(...REMAP_BITS), reload: fc.boolean(), reg: writableReg, reg2: writableReg })
          .filter((it) => it.reg !== it.reg2),
        weight: 9,
      },
      {
        arbitrary: fc
          .record({ k: fc.constant('wait' as const), how: fc.constantFrom('hlt' as const, 'poll' as const), reg: writableReg, reg2: writableReg })
          .filter((it) => it.reg !== it.reg2),
        weight: 4,
      },
    );
  }
  return fc.oneof(...choices);
}

/** An item: a flat one, or a construct holding up to `maxBody` flat items. */
function item(ctx: Context, maxBody: number): fc.Arbitrary<Item> {
  const body = (c: Context): fc.Arbitrary<FlatItem[]> => fc.array(flatItem(c), { maxLength: maxBody });
  return fc.oneof(
    { arbitrary: flatItem(ctx), weight: 20 },
    {
      arbitrary: fc.record({
        k: fc.constant('if' as const),
        compare: fc.option(opsFrom(COMPARES), { nil: null }),
        branch: fc.constantFrom(...BRANCHES.map((s) => s.def.name)),
        body: body(ctx),
      }),
      weight: 3,
    },
    { arbitrary: fc.record({ k: fc.constant('loop' as const), count: fc.integer({ min: 1, max: 4 }), body: body(ctx) }), weight: 3 },
    { arbitrary: fc.record({ k: fc.constant('call' as const), via: fc.constantFrom(...CALL_VIA), reg: writableReg, body: body({ ...ctx, inCall: true }) }), weight: 2 },
    { arbitrary: fc.record({ k: fc.constant('skip' as const), via: fc.constantFrom(...SKIP_VIA), reg: writableReg, body: body(ctx) }), weight: 1 },
  );
}

export interface ProgramShape {
  /** At most this many items in each body. */
  maxItems: { supervisor: number; user: number };
  /** At most this many items in the body of a loop, branch or subroutine. */
  maxBody: number;
}

export const DEFAULT_SHAPE: ProgramShape = { maxItems: { supervisor: 8, user: 12 }, maxBody: 3 };

export function programArb(shape: ProgramShape = DEFAULT_SHAPE): fc.Arbitrary<Program> {
  const offset = fc.constantFrom(0, 0xf00, 0xfd0);
  return fc.record({
    paging: fc.oneof({ arbitrary: fc.constant(true), weight: 2 }, { arbitrary: fc.constant(false), weight: 1 }),
    timer: fc.oneof({ arbitrary: fc.constant(0), weight: 1 }, { arbitrary: fc.integer({ min: 20, max: 300 }), weight: 1 }),
    supervisorIF: fc.boolean(),
    userFlags: fc.tuple(fc.integer({ min: 0, max: FLAGS_MASK }), fc.boolean()).map(([f, on]) => (f & FLAGS_MASK & ~FLAG_IF) | (on ? FLAG_IF : 0)),
    supervisorOffset: offset,
    userOffset: offset,
    regs: fc.array(interestingValue, { minLength: WRITABLE_REGS.length, maxLength: WRITABLE_REGS.length }),
    supervisor: fc.array(item({ mode: 'supervisor', inCall: false }, shape.maxBody), { maxLength: shape.maxItems.supervisor }),
    user: fc.array(item({ mode: 'user', inCall: false }, shape.maxBody), { maxLength: shape.maxItems.user }),
  });
}
