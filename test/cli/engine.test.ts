/** Running engines from the command line: options, tracing, JSON, errors. */
import { describe, expect, it } from 'vitest';
import { cli } from '../support/cli.js';

describe('virtstrat run --engine', () => {
  it('prints the guest output, then a summary with counts, cycles and the fidelity verdict', async () => {
    const r = await cli('run', 'syscall', '--scale', '20', '--engine', 'dbt');
    expect(r.code).toBe(0);
    expect(r.out).toBe('null system calls: 20\n');
    expect(r.err).toMatch(/dbt on syscall \(scale 20\), default ISA: exited/);
    expect(r.err).toMatch(/VMM entries: \d+ \(traps \d+, callouts \d+/);
    expect(r.err).toMatch(/modeled cycles \(p4-2006\): \d+, [\d.]+x native/);
    expect(r.err).toMatch(/fidelity: exact/);
  });
  it('--json holds status, fidelity, counters, exit reasons and modeled cycles', async () => {
    const j = JSON.parse((await cli('run', 'in', '--scale', '10', '--engine', 'vtx', '--json')).out);
    expect(j).toMatchObject({ engine: 'vtx', status: 'exited', fidelity: { verdict: 'exact' } });
    expect(j.counters.guestInstructions).toBeGreaterThan(0);
    expect(j.reasons.find((x: { reason: string }) => x.reason.startsWith('30 '))).toMatchObject({ kind: 'vm-exit' });
    expect(j.cycles.total).toBeGreaterThan(0);
    expect(j.overheadVsNative).toBeGreaterThan(0);
  });
  it('--trace prints every VMM entry with clock, pc, mode, kind, reason, instruction and action', async () => {
    const r = await cli('run', 'hello', '--engine', 'trap-emulate', '--isa', 'classic', '--trace');
    const lines = r.out.split('\n').filter((l) => l.startsWith('[trace]'));
    const summary = JSON.parse((await cli('run', 'hello', '--engine', 'trap-emulate', '--isa', 'classic', '--json')).out);
    expect(lines.length).toBe(summary.counters.vmmEntries);
    expect(lines.some((l) => / 0x[0-9a-f]{8} supervisor trap +iret +iret +-> emulated on the virtual CPU/.test(l))).toBe(true);
  });
  it('a diverged run exits 1 and names the cause', async () => {
    const r = await cli('run', 'critical-sections', '--scale', '2', '--engine', 'trap-emulate');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/fidelity: DIVERGED/);
    // The cause names every offending instruction (rdmode at boot, then pushf and popf in the critical sections).
    expect(r.err).toMatch(/cause: .*popf silently misbehaved \d+ times \(first at 0x[0-9a-f]+, after \d+ instructions\)/);
  });
  it('engine options are checked against the engine', async () => {
    const ok = await cli('run', 'io', '--scale', '2', '--engine', 'vtx', '--option', 'hltExiting=false', '--json');
    expect(JSON.parse(ok.out).details.hltExiting).toBe(false);
    const bad = await cli('run', 'io', '--engine', 'vtx', '--option', 'warp=9');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/'warp=9' is not an option of vtx. Valid options: hltExiting/);
    const badValue = await cli('run', 'io', '--engine', 'vtx', '--option', 'hltExiting=maybe');
    expect(badValue.err).toMatch(/expected true or false/);
  });
  it('unknown engines and presets list the valid ones', async () => {
    expect((await cli('run', 'hello', '--engine', 'qemu')).err).toMatch(/Valid engines: native, emulate, trap-emulate, dbt, paravirt, vtx/);
    expect((await cli('run', 'hello', '--preset', 'z80')).err).toMatch(/Valid presets: p4-2006, sandybridge-2011/);
  });
  it('list --json also lists engines (with options) and presets', async () => {
    const j = JSON.parse((await cli('list', '--json')).out);
    expect(j.engines.map((e: { id: string }) => e.id)).toContain('paravirt');
    expect(j.engines.find((e: { id: string }) => e.id === 'paravirt').guest).toBe('paravirt');
    expect(j.presets.map((p: { id: string }) => p.id)).toEqual(['p4-2006', 'sandybridge-2011']);
  });
});
