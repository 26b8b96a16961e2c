/**
 * Shared replays and the replay limiter, on a fake broker (FakeBroker below: an in-memory list of
 * sequences standing in for a JetStream stream; the real broker path is test/e2e/delivery-herd).
 */
import { describe, expect, it } from "vitest";
import { CursorCodec, type Positions } from "../../../src/delivery/cursor.js";
import { PositionCursors } from "../../../src/delivery/cursors.js";
import { ReplayLimiter } from "../../../src/delivery/limiter.js";
import { type ReplayMember, type ReplaySource, SharedReplay } from "../../../src/delivery/replays.js";
import { type DeliveryReport, DeliverySink } from "../../../src/delivery/sink.js";
import type { OperationSink } from "../../../src/engine/types.js";
import type { BrokerEvent, ReplayRequest } from "../../../src/providers/provider.js";

const REPORT: DeliveryReport = { guarantee: "at_least_once", achieved: "at_least_once" };
const codec = new CursorCodec("unit-test-secret-0123456789abcdef0123");
const tick = () => new Promise((r) => setTimeout(r, 0));

function deferred() {
  let open!: () => void;
  const promise = new Promise<void>((r) => {
    open = r;
  });
  return { promise, open };
}

/** A fake broker: sequences on one partition "p"; a read delivers those after `after` up to the head it saw. */
class FakeBroker {
  readonly seqs: number[] = [];
  readonly reads: Positions[] = [];
  readonly aborted: boolean[] = [];
  /** Awaited before each event is delivered (pauses a read where a test wants it). */
  before: (seq: number, signal: AbortSignal) => Promise<void> = async () => {};

  constructor(count: number) {
    for (let i = 1; i <= count; i++) this.seqs.push(i);
  }

  async read(req: Pick<ReplayRequest, "after" | "onEvents" | "onGap" | "signal">): Promise<void> {
    const index = this.reads.length;
    this.reads.push(req.after);
    const from = req.after.p ?? 0;
    const head = this.seqs.slice();
    for (const seq of head) {
      if (seq <= from) continue;
      await this.before(seq, req.signal);
      if (req.signal.aborted) break;
      await req.onEvents([event(seq)]);
    }
    this.aborted[index] = req.signal.aborted;
  }
}

function event(seq: number): BrokerEvent {
  return { topic: "t", data: new TextEncoder().encode(JSON.stringify({ n: seq })), position: String(seq) };
}

function source(broker: FakeBroker, after: Positions, extra: Partial<ReplaySource> = {}) {
  const counts = { replayed: 0, gaps: 0, failed: [] as unknown[] };
  const src: ReplaySource = {
    read: (req) => broker.read(req),
    cursors: new PositionCursors(
      codec,
      "p1",
      "fp",
      (ev) => ({ key: "p", offset: Number(ev.position) }),
      after,
    ),
    acquire: async () => () => {},
    timeoutMs: 5_000,
    receive: undefined,
    onRead: () => {},
    onReplayed: () => counts.replayed++,
    onGap: () => counts.gaps++,
    onFailed: (err) => counts.failed.push(err),
    ...extra,
  };
  return { src, counts };
}

/** A resuming client: its sink, what it received and how often its group resolver ran. */
function client(groupKey: string, after: Positions, resolved: Map<string, number>) {
  const got: unknown[] = [];
  const errors: unknown[] = [];
  const inner: OperationSink = {
    next: (json) => got.push(JSON.parse(json)),
    error: (errs) => errors.push(errs),
    complete: () => {},
  };
  const sink = new DeliverySink(inner, REPORT, after);
  const leave = new AbortController();
  const member: ReplayMember = {
    groupKey,
    sink,
    signal: leave.signal,
    resolve: (_decoded, raw) => {
      resolved.set(groupKey, (resolved.get(groupKey) ?? 0) + 1);
      return `{"data":{"n":${Number(raw.position)}}}`;
    },
  };
  const ns = () => got.map((g) => (g as { data: { n: number } }).data.n);
  return { member, sink, got, errors, leave, ns };
}

/** A live event after the replay: it carries `extensions.gap` when the client missed events. */
function expectGapOnNextLive(c: ReturnType<typeof client>, n: number): void {
  c.sink.next(`{"data":{"n":${n}},"extensions":{"cursor":"c"}}`, {
    cursor: "c",
    position: { key: "p", offset: n },
  });
  expect(c.got.at(-1)).toMatchObject({ data: { n }, extensions: { gap: true } });
}

describe("SharedReplay", () => {
  it("reads once for every client resuming together and resolves each event once per group", async () => {
    const broker = new FakeBroker(5);
    const { src, counts } = source(broker, { p: 0 });
    const resolved = new Map<string, number>();
    const replay = new SharedReplay(src, { p: 0 }, () => {});
    const a = client("g1", { p: 0 }, resolved);
    const b = client("g1", { p: 0 }, resolved);
    const c = client("g2", { p: 0 }, resolved);
    const live = [replay.join(a.member), replay.join(b.member), replay.join(c.member)];
    await replay.run();
    await Promise.all(live);
    expect(broker.reads).toHaveLength(1);
    for (const x of [a, b, c]) {
      expect(x.ns()).toEqual([1, 2, 3, 4, 5]);
      expect(x.sink.replaying).toBe(false);
    }
    expect(resolved.get("g1")).toBe(5);
    expect(resolved.get("g2")).toBe(5);
    expect(counts.replayed).toBe(15);
    expect(counts.gaps).toBe(0);
    // Each replayed result carries the cursor after its event.
    const last = a.got[4] as { extensions: { cursor: string } };
    expect(codec.decode(last.extensions.cursor)?.o).toEqual({ p: 5 });
  });

  it("gives a late joiner what was read before it, then reads again to the new head before going live", async () => {
    const broker = new FakeBroker(5);
    const gate = deferred();
    broker.before = async (seq) => {
      if (seq === 3) await gate.promise;
    };
    const { src } = source(broker, { p: 0 });
    const resolved = new Map<string, number>();
    const replay = new SharedReplay(src, { p: 0 }, () => {});
    const a = client("g", { p: 0 }, resolved);
    const aLive = replay.join(a.member);
    const running = replay.run();
    await tick();
    expect(a.ns()).toEqual([1, 2]);
    // A client joins mid-read; an event is published after the read took its head.
    const b = client("g", { p: 0 }, resolved);
    const bLive = replay.join(b.member);
    broker.seqs.push(6);
    await tick();
    expect(b.ns()).toEqual([1, 2]);
    gate.open();
    await running;
    await Promise.all([aLive, bLive]);
    expect(broker.reads).toEqual([{ p: 0 }, { p: 5 }]);
    expect(a.ns()).toEqual([1, 2, 3, 4, 5, 6]);
    expect(b.ns()).toEqual([1, 2, 3, 4, 5, 6]);
    expect(resolved.get("g")).toBe(6);
    expect(replay.accepting).toBe(false);
  });

  it("goes live with a gap when the read runs past the timeout (counted after the slot)", async () => {
    const broker = new FakeBroker(3);
    broker.before = (seq, signal) =>
      seq === 2
        ? new Promise((r) => signal.addEventListener("abort", () => r(), { once: true }))
        : Promise.resolve();
    const { src, counts } = source(broker, { p: 0 }, { timeoutMs: 50 });
    const resolved = new Map<string, number>();
    const replay = new SharedReplay(src, { p: 0 }, () => {});
    const a = client("g", { p: 0 }, resolved);
    const live = replay.join(a.member);
    await replay.run();
    await live;
    expect(broker.aborted).toEqual([true]);
    expect(a.ns()).toEqual([1]);
    expect(a.sink.replaying).toBe(false);
    expect(counts.gaps).toBe(1);
    expect(counts.failed).toHaveLength(1);
    // The next live event tells the client it missed some.
    expectGapOnNextLive(a, 9);
  });

  it("stops the read when every client left, and takes no one after", async () => {
    const broker = new FakeBroker(3);
    const gate = deferred();
    broker.before = async (seq) => {
      if (seq === 2) await gate.promise;
    };
    const { src, counts } = source(broker, { p: 0 });
    let closed = 0;
    const replay = new SharedReplay(src, { p: 0 }, () => closed++);
    const resolved = new Map<string, number>();
    const a = client("g", { p: 0 }, resolved);
    const b = client("g", { p: 0 }, resolved);
    const live = [replay.join(a.member), replay.join(b.member)];
    const running = replay.run();
    await tick();
    a.leave.abort();
    expect(replay.accepting).toBe(true);
    b.leave.abort();
    expect(replay.accepting).toBe(false);
    expect(closed).toBe(1);
    gate.open();
    await running;
    await Promise.all(live);
    expect(broker.aborted).toEqual([true]);
    expect(b.ns()).toEqual([1]);
    expect(counts.failed).toEqual([]);
  });

  it("ends the subscriptions when a batch hook's error policy refuses a replayed batch", async () => {
    const broker = new FakeBroker(3);
    const errors = [{ message: "refused by hook" }];
    const { src, counts } = source(
      broker,
      { p: 0 },
      {
        receive: {
          key: "k",
          transform: async (events, decoded) =>
            events[0]!.position === "2"
              ? { ok: false, errors }
              : { ok: true, events: events.map((raw, i) => ({ raw, decoded: decoded[i]!, source: i })) },
        },
      },
    );
    const resolved = new Map<string, number>();
    const replay = new SharedReplay(src, { p: 0 }, () => {});
    const a = client("g", { p: 0 }, resolved);
    const live = replay.join(a.member);
    await replay.run();
    await live;
    expect(a.ns()).toEqual([1]);
    expect(a.errors).toEqual([errors]);
    expect(counts.gaps).toBe(0);
  });

  it("turns a resolver that throws into a gap for its group only, with no unhandled rejection", async () => {
    const broker = new FakeBroker(3);
    const { src, counts } = source(broker, { p: 0 });
    const resolved = new Map<string, number>();
    const replay = new SharedReplay(src, { p: 0 }, () => {});
    const bad = client("bad", { p: 0 }, resolved);
    const good = client("good", { p: 0 }, resolved);
    const resolve = bad.member.resolve;
    const failing: ReplayMember = {
      ...bad.member,
      resolve: (d, raw, scope) => {
        if (raw.position === "2") throw new Error("subgraph down");
        return resolve(d, raw, scope);
      },
    };
    const live = [replay.join(failing), replay.join(good.member)];
    await replay.run();
    await Promise.all(live);
    expect(good.ns()).toEqual([1, 2, 3]);
    expect(bad.ns()).toEqual([1]);
    expect(counts.gaps).toBe(1);
    expectGapOnNextLive(bad, 4);
  });

  it("stops taking joiners past its recording limit, still delivering to those it has", async () => {
    const broker = new FakeBroker(10_002);
    const { src } = source(broker, { p: 0 });
    const resolved = new Map<string, number>();
    const replay = new SharedReplay(src, { p: 0 }, () => {});
    const a = client("g", { p: 0 }, resolved);
    const live = replay.join(a.member);
    await replay.run();
    await live;
    expect(replay.accepting).toBe(false);
    expect(a.got).toHaveLength(10_002);
  });
});

describe("ReplayLimiter", () => {
  it("runs at most `limit` at once, in arrival order, and skips those that left while waiting", async () => {
    const limiter = new ReplayLimiter(2);
    const none = new AbortController().signal;
    const r1 = await limiter.acquire(none);
    const r2 = await limiter.acquire(none);
    expect(limiter.active).toBe(2);
    const leaving = new AbortController();
    const order: string[] = [];
    const p3 = limiter.acquire(leaving.signal).then((r) => {
      order.push(r ? "3" : "3-left");
      return r;
    });
    const p4 = limiter.acquire(none).then((r) => {
      order.push("4");
      return r;
    });
    expect(limiter.waiting).toBe(2);
    leaving.abort();
    expect(await p3).toBeUndefined();
    expect(limiter.waiting).toBe(1);
    r1!();
    r1!(); // a second release is a no-op, not a slot more
    const r4 = await p4;
    expect(order).toEqual(["3-left", "4"]);
    expect(limiter.active).toBe(2);
    r2!();
    r4!();
    expect(limiter.active).toBe(0);
    expect(await limiter.acquire(AbortSignal.abort())).toBeUndefined();
  });
});
