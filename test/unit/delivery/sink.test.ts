import { describe, expect, it } from "vitest";
import { CursorCodec, triggerFingerprint } from "../../../src/delivery/cursor.js";
import { PositionCursors } from "../../../src/delivery/cursors.js";
import { type DeliveryReport, DeliverySink, withCursor } from "../../../src/delivery/sink.js";
import type { EventMeta, OperationSink } from "../../../src/engine/types.js";
import type { BrokerEvent } from "../../../src/providers/provider.js";

const REPORT: DeliveryReport = { guarantee: "at_least_once", achieved: "at_least_once" };
const codec = new CursorCodec("unit-test-secret-0123456789abcdef0123");

function recorder() {
  const got: { json: string; meta?: EventMeta }[] = [];
  const sink: OperationSink = {
    next: (json, meta) => got.push({ json, ...(meta ? { meta } : {}) }),
    error: () => {},
    complete: () => {},
  };
  return { got, sink, ids: () => got.map((g) => JSON.parse(g.json).data.n as number) };
}
const meta = (offset: number, key = "p"): EventMeta => ({ cursor: `c${offset}`, position: { key, offset } });
const event = (n: number) => withCursor(`{"data":{"n":${n}}}`, `c${n}`);

describe("DeliverySink", () => {
  it("says extensions.delivery on the first event only, keeping the cursor", () => {
    const r = recorder();
    const s = new DeliverySink(r.sink, REPORT);
    s.next(event(1), meta(1));
    s.next(event(2), meta(2));
    expect(JSON.parse(r.got[0]!.json).extensions).toEqual({ cursor: "c1", delivery: REPORT });
    expect(JSON.parse(r.got[1]!.json).extensions).toEqual({ cursor: "c2" });
  });

  it("adds extensions where an at-most-once result has none, and gap where events were lost", () => {
    const r = recorder();
    const s = new DeliverySink(r.sink, { ...REPORT, achieved: "at_most_once", reason: "why" });
    s.markGap();
    s.next('{"data":{"n":1}}');
    expect(JSON.parse(r.got[0]!.json)).toEqual({
      data: { n: 1 },
      extensions: { delivery: { ...REPORT, achieved: "at_most_once", reason: "why" }, gap: true },
    });
  });

  it("holds live events during a replay, then hands over without a gap or a duplicate at the seam", () => {
    const r = recorder();
    const s = new DeliverySink(r.sink, REPORT, { p: 10 });
    expect(s.replaying).toBe(true);
    for (const n of [13, 14, 15]) s.next(event(n), meta(n)); // live, while replaying
    for (const n of [11, 12, 13, 14]) s.replayed(event(n), meta(n));
    expect(r.ids()).toEqual([11, 12, 13, 14]);
    s.live();
    s.next(event(16), meta(16));
    s.next(event(15), meta(15)); // a redelivery: dropped by position
    expect(r.ids()).toEqual([11, 12, 13, 14, 15, 16]);
  });

  it("deduplicates per partition key, never across keys", () => {
    const r = recorder();
    const s = new DeliverySink(r.sink, REPORT, { a: 5, b: 100 });
    s.live();
    s.next(event(6), meta(6, "a"));
    s.next(event(6), meta(6, "b")); // b is far ahead: an old one there
    s.next(event(101), meta(101, "b"));
    s.next(event(5), meta(5, "a"));
    expect(r.ids()).toEqual([6, 101]);
  });

  it("passes error and complete through, and stops holding", () => {
    const errors: unknown[] = [];
    const s = new DeliverySink(
      { next: () => {}, error: (e) => errors.push(e), complete: () => errors.push("complete") },
      REPORT,
      { p: 1 },
    );
    s.error([{ message: "x" }]);
    expect(s.replaying).toBe(false);
    expect(errors).toEqual([[{ message: "x" }]]);
  });
});

describe("PositionCursors", () => {
  const ev = (position?: string): BrokerEvent => ({
    topic: "t",
    data: new Uint8Array(),
    ...(position ? { position } : {}),
  });
  const cursors = (initial = {}) =>
    new PositionCursors(
      codec,
      "prov",
      triggerFingerprint("k"),
      (e) =>
        e.position ? { key: e.position.split("@")[0]!, offset: Number(e.position.split("@")[1]) } : undefined,
      initial,
    );

  it("signs the positions after each event; the cursor decodes to them", () => {
    const c = cursors();
    const m = c.advance(ev("a@3"))!;
    expect(codec.decode(m.cursor)).toEqual({ p: "prov", t: triggerFingerprint("k"), o: { a: 3 } });
    const m2 = c.advance(ev("b@9"))!;
    expect(codec.decode(m2.cursor).o).toEqual({ a: 3, b: 9 });
    expect(c.advance(ev())).toBeUndefined();
  });

  it("never moves a partition back, and seeding does not move what was seen", () => {
    const c = cursors();
    c.advance(ev("a@10"));
    c.seed({ a: 2, b: 7 });
    expect(codec.decode(c.advance(ev("a@4"))!.cursor).o).toEqual({ a: 10, b: 7 });
  });

  it("offers only settled cursors to idle clients", () => {
    const c = cursors();
    const m = c.advance(ev("a@1"))!;
    expect(c.latest).toBeUndefined();
    c.settle(m.cursor);
    expect(c.latest).toBe(m.cursor);
  });
});

describe("CursorCodec", () => {
  it("round-trips, and refuses another secret, an altered body and a malformed text", () => {
    const body = { p: "x", t: "y", o: { k: 1 } };
    const text = codec.encode(body);
    expect(codec.decode(text)).toEqual(body);
    expect(() => new CursorCodec("another-secret-0123456789abcdef01234").decode(text)).toThrow(/signature/);
    const [payload, mac] = text.split(".");
    const altered = Buffer.from(JSON.stringify({ ...body, o: { k: 0 } })).toString("base64url");
    expect(() => codec.decode(`${altered}.${mac}`)).toThrow(/signature/);
    expect(() => codec.decode(`${payload}`)).toThrow(/malformed/);
    expect(() => codec.decode(42)).toThrow(/string/);
    const bad = Buffer.from(JSON.stringify({ p: "x", t: "y", o: { k: 1.5 } })).toString("base64url");
    const signed = codec.encode(body).split(".")[1];
    expect(() => codec.decode(`${bad}.${signed}`)).toThrow(/invalid cursor/);
  });
});
