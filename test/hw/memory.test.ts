import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../src/isa/arch.js';
import { PhysicalMemory, withRecycledMemory } from '../../src/hw/memory.js';
import { native } from '../../strategies/native.js';
import { dbt } from '../../strategies/dbt.js';
import { guestImage } from '../../src/run/engine-run.js';
import { workloadByName } from '../../workloads/manifest.js';
import type { RunSpec } from '../../strategies/engine.js';

/** The hash as first written: every group of eight words, zero groups skipped — what the page-skipping hash must equal. */
function wordByWordHash(w: Int32Array): string {
  let h0 = 0x811c9dc5, h1 = 0x01000193, h2 = 0x9e3779b9, h3 = 0x85ebca6b;
  for (let i = 0; i < w.length; i += 8) {
    const g = [w[i], w[i + 1], w[i + 2], w[i + 3], w[i + 4], w[i + 5], w[i + 6], w[i + 7]];
    if (g.every((x) => x === 0)) continue;
    h0 = Math.imul(h0 ^ i, 0x01000193);
    h0 = Math.imul(h0 ^ g[0], 0x01000193);
    h1 = Math.imul(h1 ^ g[1], 0x01000193);
    h2 = Math.imul(h2 ^ g[2], 0x01000193);
    h3 = Math.imul(h3 ^ g[3], 0x01000193);
    h0 = Math.imul(h0 ^ g[4], 0x01000193);
    h1 = Math.imul(h1 ^ g[5], 0x01000193);
    h2 = Math.imul(h2 ^ g[6], 0x01000193);
    h3 = Math.imul(h3 ^ g[7], 0x01000193);
  }
  const h = Math.imul(h0 ^ Math.imul(h1 ^ Math.imul(h2 ^ h3, 0x01000193), 0x01000193), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}

describe('memory hash', () => {
  it('reads only nonzero pages yet equals a word-by-word scan (first, last and lone bytes anywhere)', () => {
    const m = new PhysicalMemory(64 * PAGE_SIZE);
    expect(m.hash()).toBe(wordByWordHash(m.i32));
    for (const at of [0, PAGE_SIZE - 1, 17 * PAGE_SIZE + 5, 16 * PAGE_SIZE, 64 * PAGE_SIZE - 1]) {
      m.u8[at] = 0x5a;
      expect(m.hash()).toBe(wordByWordHash(m.i32));
    }
    // A byte moved to another page is another memory.
    const before = m.hash();
    m.u8[17 * PAGE_SIZE + 5] = 0;
    m.u8[18 * PAGE_SIZE + 5] = 0x5a;
    expect(m.hash()).not.toBe(before);
  });

  it('nextNonzeroPage finds exactly the pages with a nonzero byte, across the skip granule', () => {
    const m = new PhysicalMemory(40 * PAGE_SIZE);
    const written = [3, 15, 16, 33, 39];
    for (const p of written) m.u8[p * PAGE_SIZE + (p % 7) * 100] = 1;
    const found: number[] = [];
    for (let at = m.nextNonzeroPage(0); at >= 0; at = m.nextNonzeroPage(at + PAGE_SIZE)) found.push(at / PAGE_SIZE);
    expect(found).toEqual(written);
  });
});

describe('recycled memory', () => {
  it('is reused zeroed, and the memory it came from (and its views) can no longer be read', () => {
    const size = 32 * PAGE_SIZE;
    let first: PhysicalMemory | undefined;
    let view: PhysicalMemory | undefined;
    withRecycledMemory(() => {
      first = new PhysicalMemory(size);
      view = first.view(8 * PAGE_SIZE);
      first.u8.fill(0xff, 5 * PAGE_SIZE, 7 * PAGE_SIZE);
      first.i32[first.i32.length - 1] = -1;
    });
    expect(first!.u8.length).toBe(0);
    expect(view!.i32.length).toBe(0);
    expect(() => first!.hash()).toThrow(/recycled/);
    const second = new PhysicalMemory(size);
    expect(second.nextNonzeroPage(0)).toBe(-1);
    expect(second.u8.every((b) => b === 0)).toBe(true);
  });

  it('is recycled when the function throws, and a memory made outside the scope is left alone', () => {
    const outside = new PhysicalMemory(4 * PAGE_SIZE);
    let inside: PhysicalMemory | undefined;
    expect(() =>
      withRecycledMemory(() => {
        inside = new PhysicalMemory(4 * PAGE_SIZE);
        outside.u8[0] = 1;
        throw new Error('guest setup failed');
      }),
    ).toThrow('guest setup failed');
    expect(inside!.u8.length).toBe(0);
    expect(outside.u8[0]).toBe(1);
  });

  it('a view, or a memory given its buffer, cannot be recycled (the buffer is not its to give away)', () => {
    const m = new PhysicalMemory(4 * PAGE_SIZE);
    expect(() => m.view(2 * PAGE_SIZE).recycle()).toThrow(/owns its buffer/);
    expect(() => m.view(4 * PAGE_SIZE).recycle()).toThrow(/owns its buffer/);
    expect(() => new PhysicalMemory(PAGE_SIZE, new ArrayBuffer(PAGE_SIZE)).recycle()).toThrow(/owns its buffer/);
  });

  it('engine runs recycle their memory, zeroed: a run after a different workload ends exactly as before it', () => {
    // Each run reuses the buffer the previous run left. A page left unzeroed would show in the final memory hash
    // (or change the guest's behaviour) of a small workload run after a big one — but not after itself, since
    // it would rewrite the same bytes: hence hello, then pgfault (thousands of pages touched), then hello again.
    const spec = (name: string, engine: typeof native): RunSpec => {
      const w = workloadByName(name)!;
      return {
        image: guestImage({ kind: 'workload', workload: w, scale: w.quickScale }, engine.guest),
        isa: 'default',
        budget: 50_000_000,
        memoryBytes: 8 * 1024 * 1024,
        trace: null,
        options: Object.fromEntries(engine.options.map((o) => [o.name, o.default])),
      };
    };
    for (const engine of [native, dbt]) {
      const a = engine.run(spec('hello', engine));
      engine.run(spec('pgfault', engine));
      const b = engine.run(spec('hello', engine));
      expect(b.memoryHash).toBe(a.memoryHash);
      expect(b.counters).toEqual(a.counters);
      expect(b.console).toBe(a.console);
    }
  });
});
