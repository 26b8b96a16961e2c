/**
 * Connection counting for limits.max_connections (per process) and limits.max_connections_per_ip.
 * A connection is a WebSocket or an SSE/multipart stream. The counts live in a SharedArrayBuffer
 * so that worker threads, which share the port, enforce one process-wide limit: each thread
 * writes only its own region (so a crashed worker's counts are dropped by zeroing its region when
 * its replacement starts) and reads every region. Per-address counts are kept in hashed buckets
 * (seeded per process, so a client cannot aim at another address's bucket); two addresses in one
 * bucket share a count, which with 65,536 buckets matters only when one of them is near its limit.
 * Threads check and then add without a lock, so the process-wide count may pass the limit by at
 * most the number of workers minus one.
 */
import { randomInt } from "node:crypto";
import type { LimitName } from "./limits.js";

const BUCKETS = 65_536;
/** Per worker: one total, then the address buckets. */
const REGION = 1 + BUCKETS;

/** The shared counts of a process: created once (by the primary, or by a lone router). */
export interface ConnectionTable {
  readonly buffer: SharedArrayBuffer;
  readonly regions: number;
  readonly seed: number;
}

export function createConnectionTable(regions: number): ConnectionTable {
  return {
    buffer: new SharedArrayBuffer(regions * REGION * Int32Array.BYTES_PER_ELEMENT),
    regions,
    seed: randomInt(0x7fffffff),
  };
}

/** Forgets what the thread of `region` held (it ended; its sockets are gone). */
export function clearRegion(table: ConnectionTable, region: number): void {
  new Int32Array(table.buffer, region * REGION * Int32Array.BYTES_PER_ELEMENT, REGION).fill(0);
}

/**
 * The address key of a client: IPv4 (also when it arrives IPv4-mapped on an IPv6 socket, which
 * uWS reports as `0000:…:ffff:7f00:0001`) by its 4 bytes; IPv6 by its /64 prefix, the block one
 * subscriber usually holds whole, so rotating addresses inside it does not escape the limit.
 * `raw` is uWS's `getRemoteAddress()`: 4 or 16 bytes.
 */
export function addressKey(raw: ArrayBuffer): Uint8Array {
  // A copy: uWS may reuse the memory behind `raw` after the callback that read it.
  const b = new Uint8Array(raw.slice(0));
  if (b.length !== 16) return b;
  let mapped = b[10] === 0xff && b[11] === 0xff;
  for (let i = 0; mapped && i < 10; i++) mapped = b[i] === 0;
  return mapped ? b.subarray(12, 16) : b.subarray(0, 8);
}

/** A readable form of an address key (for logs). */
export function addressText(key: Uint8Array): string {
  if (key.length === 4) return key.join(".");
  const groups: string[] = [];
  for (let i = 0; i + 1 < key.length; i += 2) groups.push(((key[i]! << 8) | key[i + 1]!).toString(16));
  return key.length === 8 ? `${groups.join(":")}::/64` : groups.join(":");
}

function bucketOf(key: Uint8Array, seed: number): number {
  // FNV-1a, seeded; the key's length is mixed in so a 4-byte and an 8-byte key differ.
  let h = (0x811c9dc5 ^ seed ^ key.length) >>> 0;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key[i]!, 0x01000193) >>> 0;
  return h % BUCKETS;
}

export type Admission =
  | { readonly ok: true; readonly ticket: number }
  | { readonly ok: false; readonly limit: LimitName };

/** One thread's view of the shared counts. */
export class ConnectionLimiter {
  private readonly counts: Int32Array;
  private readonly own: number;

  constructor(
    private readonly table: ConnectionTable,
    self: number,
    private readonly maxTotal: number,
    private readonly maxPerAddress: number,
  ) {
    this.counts = new Int32Array(table.buffer);
    this.own = self * REGION;
    // What a crashed predecessor in this region held died with its sockets.
    clearRegion(table, self);
  }

  /** Counts a new connection from `key`, or names the limit it would break. */
  admit(key: Uint8Array): Admission {
    const bucket = 1 + bucketOf(key, this.table.seed);
    let total = 0;
    let fromAddress = 0;
    for (let r = 0; r < this.table.regions; r++) {
      total += Atomics.load(this.counts, r * REGION);
      fromAddress += Atomics.load(this.counts, r * REGION + bucket);
    }
    // The address's own limit first: when both are reached, the more specific answer (429).
    if (fromAddress >= this.maxPerAddress) return { ok: false, limit: "max_connections_per_ip" };
    if (total >= this.maxTotal) return { ok: false, limit: "max_connections" };
    Atomics.add(this.counts, this.own, 1);
    Atomics.add(this.counts, this.own + bucket, 1);
    return { ok: true, ticket: bucket };
  }

  /** The connection admitted with `ticket` ended. Call once per admitted connection. */
  release(ticket: number): void {
    Atomics.sub(this.counts, this.own, 1);
    Atomics.sub(this.counts, this.own + ticket, 1);
  }

  /** Connections this process holds (all threads). */
  get total(): number {
    let total = 0;
    for (let r = 0; r < this.table.regions; r++) total += Atomics.load(this.counts, r * REGION);
    return total;
  }
}
