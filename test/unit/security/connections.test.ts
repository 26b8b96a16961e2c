import { describe, expect, it } from "vitest";
import {
  addressKey,
  addressText,
  ConnectionLimiter,
  clearRegion,
  createConnectionTable,
} from "../../../src/security/connections.js";

const v4 = (...b: number[]): ArrayBuffer => new Uint8Array(b).buffer;
const v6 = (hex: string): ArrayBuffer => new Uint8Array(Buffer.from(hex.padStart(32, "0"), "hex")).buffer;

describe("addressKey", () => {
  it("reads IPv4 as its 4 bytes, also when IPv4-mapped on an IPv6 socket", () => {
    expect(addressText(addressKey(v4(127, 0, 0, 1)))).toBe("127.0.0.1");
    expect(addressText(addressKey(v6("ffff7f000001")))).toBe("127.0.0.1");
    expect(addressKey(v6("ffff7f000001"))).toEqual(addressKey(v4(127, 0, 0, 1)));
  });

  it("keys IPv6 by its /64, so addresses rotated inside one block count together", () => {
    const a = addressKey(v6("20010db8000000010000000000000001"));
    const b = addressKey(v6("20010db80000000100000000deadbeef"));
    const other = addressKey(v6("20010db8000000020000000000000001"));
    expect(a).toEqual(b);
    expect(a).not.toEqual(other);
    expect(addressText(a)).toBe("2001:db8:0:1::/64");
    // ::1 is not IPv4-mapped.
    expect(addressKey(v6("1")).length).toBe(8);
  });

  it("copies, so uWS reusing its memory cannot change a key", () => {
    const raw = new Uint8Array([10, 0, 0, 1]);
    const key = addressKey(raw.buffer);
    raw[0] = 99;
    expect(addressText(key)).toBe("10.0.0.1");
  });
});

describe("ConnectionLimiter", () => {
  const a = addressKey(v4(10, 0, 0, 1));
  const b = addressKey(v4(10, 0, 0, 2));

  it("refuses past the per-address limit without touching another address", () => {
    const limiter = new ConnectionLimiter(createConnectionTable(1), 0, 100, 2);
    const t1 = limiter.admit(a);
    const t2 = limiter.admit(a);
    expect(t1.ok && t2.ok).toBe(true);
    expect(limiter.admit(a)).toEqual({ ok: false, limit: "max_connections_per_ip" });
    expect(limiter.admit(b).ok).toBe(true);
    if (t1.ok) limiter.release(t1.ticket);
    expect(limiter.admit(a).ok).toBe(true);
    expect(limiter.total).toBe(3);
  });

  it("refuses past the process limit", () => {
    const limiter = new ConnectionLimiter(createConnectionTable(1), 0, 2, 100);
    expect(limiter.admit(a).ok).toBe(true);
    expect(limiter.admit(b).ok).toBe(true);
    expect(limiter.admit(addressKey(v4(10, 0, 0, 3)))).toEqual({ ok: false, limit: "max_connections" });
  });

  it("counts over every worker's region of one shared table", () => {
    const table = createConnectionTable(3);
    const w0 = new ConnectionLimiter(table, 0, 4, 2);
    const w1 = new ConnectionLimiter(table, 1, 4, 2);
    const w2 = new ConnectionLimiter(table, 2, 4, 2);
    expect(w0.admit(a).ok).toBe(true);
    expect(w1.admit(a).ok).toBe(true);
    expect(w2.admit(a)).toEqual({ ok: false, limit: "max_connections_per_ip" });
    expect(w2.admit(b).ok).toBe(true);
    expect(w2.admit(b).ok).toBe(true);
    expect(w0.admit(addressKey(v4(1, 2, 3, 4)))).toEqual({ ok: false, limit: "max_connections" });
    // Worker 1 died: what it held goes with it.
    clearRegion(table, 1);
    expect(w0.total).toBe(3);
    expect(w2.admit(a).ok).toBe(true);
  });

  it("a restarted worker starts its region from zero", () => {
    const table = createConnectionTable(2);
    const first = new ConnectionLimiter(table, 1, 10, 10);
    first.admit(a);
    first.admit(b);
    expect(new ConnectionLimiter(table, 0, 10, 10).total).toBe(2);
    const again = new ConnectionLimiter(table, 1, 10, 10);
    expect(again.total).toBe(0);
  });
});
