/**
 * Port-I/O devices: console, instruction-count timer, block device, power control.
 *
 * Time is the machine's `clock`: instructions retired plus ticks spent halted. Nothing here reads the host
 * clock, so every run is deterministic. The same classes serve as the physical devices of a bare machine and
 * as the virtual devices a VMM emulates for its guest.
 */
import {
  DISK_SECTOR_SIZE,
  PORT_CONSOLE_DATA,
  PORT_CONSOLE_STATUS,
  PORT_DISK_ADDR,
  PORT_DISK_CMD,
  PORT_DISK_COUNT,
  PORT_DISK_IRQ,
  PORT_DISK_SECTOR,
  PORT_DISK_SIZE,
  PORT_DISK_STATUS,
  PORT_POWER,
  PORT_TIMER_COUNT,
  PORT_TIMER_PERIOD,
} from '../isa/arch.js';

/** What the machine must do after a port write. */
export const PORT_OK = 0;
/** Device timing changed (timer reprogrammed, disk started) or the machine stopped: re-plan the run loop. */
export const PORT_REPLAN = 1;

export const MAX_CONSOLE_BYTES = 4 * 1024 * 1024;

export class Console {
  private buf = new Uint8Array(4096);
  length = 0;
  /** Bytes dropped after MAX_CONSOLE_BYTES (a runaway guest cannot exhaust host memory). */
  dropped = 0;

  write(byte: number): void {
    if (this.length >= MAX_CONSOLE_BYTES) {
      this.dropped++;
      return;
    }
    if (this.length === this.buf.length) {
      const b = new Uint8Array(this.buf.length * 2);
      b.set(this.buf);
      this.buf = b;
    }
    this.buf[this.length++] = byte & 0xff;
  }

  bytes(): Uint8Array {
    return this.buf.slice(0, this.length);
  }

  /** The output as text (bytes are Latin-1, so every byte maps to one character). */
  text(): string {
    let s = '';
    for (let i = 0; i < this.length; i += 8192) {
      s += String.fromCharCode(...this.buf.subarray(i, Math.min(this.length, i + 8192)));
    }
    return s;
  }
}

/** Fires every `period` clock ticks after being programmed; one pending interrupt at most (edge, like a PIC). */
export class Timer {
  period = 0;
  /** Clock value of the next fire, or Infinity when stopped. */
  deadline = Infinity;
  fired = 0;

  program(period: number, now: number): void {
    this.period = period >>> 0;
    this.deadline = this.period === 0 ? Infinity : now + this.period;
  }

  /** Called when clock >= deadline: count the fire and advance to the next deadline. */
  fire(now: number): void {
    this.fired++;
    // If several periods elapsed at once (only possible while halted with a long skip), they merge.
    while (this.deadline <= now) this.deadline += this.period;
  }
}

export const DISK_READY = 0;
export const DISK_BUSY = 1;
export const DISK_ERROR = 2;
export const DISK_CMD_READ = 1;
export const DISK_CMD_WRITE = 2;
/** Completion latency of a disk command, in clock ticks: a fixed part plus a part per sector. */
export const DISK_LATENCY_BASE = 200;
export const DISK_LATENCY_PER_SECTOR = 50;

/** Physical-memory access for DMA (the machine supplies it so code-cache invalidation sees DMA writes). */
export interface DmaPort {
  dmaRead(pa: number, length: number): Uint8Array | null;
  dmaWrite(pa: number, data: Uint8Array): boolean;
}

export class Disk {
  readonly data: Uint8Array;
  sector = 0;
  addr = 0;
  count = 0;
  status = DISK_READY;
  irqEnabled = 0;
  /** Clock value when the running command completes (Infinity when idle). */
  completeAt = Infinity;
  private cmd = 0;
  commands = 0;
  sectorsTransferred = 0;

  constructor(sectors: number) {
    this.data = new Uint8Array(sectors * DISK_SECTOR_SIZE);
  }

  get sectors(): number {
    return this.data.length / DISK_SECTOR_SIZE;
  }

  start(cmd: number, now: number): void {
    if (this.status === DISK_BUSY) return; // commands while busy are ignored, as on simple controllers
    this.cmd = cmd;
    this.status = DISK_BUSY;
    this.commands++;
    this.completeAt = now + DISK_LATENCY_BASE + DISK_LATENCY_PER_SECTOR * Math.min(this.count >>> 0, 1 << 16);
  }

  /** Finish the running command at its completion time; returns true when an interrupt should be raised. */
  complete(dma: DmaPort): boolean {
    this.completeAt = Infinity;
    const off = (this.sector >>> 0) * DISK_SECTOR_SIZE;
    const len = (this.count >>> 0) * DISK_SECTOR_SIZE;
    let ok = (this.cmd === DISK_CMD_READ || this.cmd === DISK_CMD_WRITE) && off + len <= this.data.length;
    if (ok && this.cmd === DISK_CMD_READ) ok = dma.dmaWrite(this.addr >>> 0, this.data.subarray(off, off + len));
    if (ok && this.cmd === DISK_CMD_WRITE) {
      const src = dma.dmaRead(this.addr >>> 0, len);
      if (src) this.data.set(src, off);
      ok = src !== null;
    }
    this.status = ok ? DISK_READY : DISK_ERROR;
    if (ok) this.sectorsTransferred += this.count >>> 0;
    return this.irqEnabled !== 0;
  }
}

/** The device set of one machine (physical or virtual) and its port decoding. */
export class Devices {
  readonly console = new Console();
  readonly timer = new Timer();
  readonly disk: Disk;
  /** Set by a write to the power port. */
  powerOff = false;
  exitCode = 0;
  portReads = 0;
  portWrites = 0;

  constructor(diskSectors = 256) {
    this.disk = new Disk(diskSectors);
  }

  read(port: number): number {
    this.portReads++;
    switch (port) {
      case PORT_CONSOLE_STATUS:
        return 1;
      case PORT_TIMER_PERIOD:
        return this.timer.period | 0;
      case PORT_TIMER_COUNT:
        return this.timer.fired | 0;
      case PORT_DISK_STATUS:
        return this.disk.status;
      case PORT_DISK_SIZE:
        return this.disk.sectors;
      case PORT_DISK_SECTOR:
        return this.disk.sector | 0;
      case PORT_DISK_ADDR:
        return this.disk.addr | 0;
      case PORT_DISK_COUNT:
        return this.disk.count | 0;
      default:
        return -1;
    }
  }

  /** Returns PORT_OK or PORT_REPLAN. */
  write(port: number, value: number, now: number): number {
    this.portWrites++;
    switch (port) {
      case PORT_CONSOLE_DATA:
        this.console.write(value);
        return PORT_OK;
      case PORT_TIMER_PERIOD:
        this.timer.program(value, now);
        return PORT_REPLAN;
      case PORT_DISK_SECTOR:
        this.disk.sector = value;
        return PORT_OK;
      case PORT_DISK_ADDR:
        this.disk.addr = value;
        return PORT_OK;
      case PORT_DISK_COUNT:
        this.disk.count = value;
        return PORT_OK;
      case PORT_DISK_IRQ:
        this.disk.irqEnabled = value & 1;
        return PORT_OK;
      case PORT_DISK_CMD:
        this.disk.start(value, now);
        return PORT_REPLAN;
      case PORT_POWER:
        this.powerOff = true;
        this.exitCode = value | 0;
        return PORT_REPLAN;
      default:
        return PORT_OK;
    }
  }

  /** The earliest clock value at which a device needs attention. */
  nextEvent(): number {
    return Math.min(this.timer.deadline, this.disk.completeAt);
  }
}
