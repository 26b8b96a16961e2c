import { describe, expect, it } from "vitest";
import {
  DeliveryCheck,
  RECREATE_BUDGET,
  type Verdict,
} from "../../../src/providers/nats/jetstream-sequence.js";

/** A check with a clock the test moves. */
function setup(budget = { max: 3, windowMs: 60_000, pauseMs: 600_000 }) {
  let now = 1_000_000;
  const check = new DeliveryCheck(budget, () => now);
  return {
    check,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

/** First deliveries of stream sequences `from`.., delivery sequences from `dseq`. */
function firsts(check: DeliveryCheck, from: number, count: number, dseq: number): Verdict[] {
  return Array.from({ length: count }, (_, i) =>
    check.check({ streamSeq: from + i, deliverySeq: dseq + i, deliveryCount: 1 }),
  );
}

const deliver: Verdict = { kind: "deliver" };

describe("DeliveryCheck: deliveries lost in transit (delivery sequence)", () => {
  it("delivers a durable created now from delivery sequence 1, in order", () => {
    const { check } = setup();
    check.started(true, { streamSeq: 40, consumerSeq: 0 }, undefined);
    expect(firsts(check, 41, 5, 1)).toEqual(Array(5).fill(deliver));
  });

  it("reports a jump of the delivery sequence as a gap naming the missing deliveries", () => {
    const { check } = setup();
    check.started(true, { streamSeq: 0, consumerSeq: 0 }, undefined);
    expect(firsts(check, 1, 3, 1)).toEqual(Array(3).fill(deliver));
    // Deliveries 4..11 (stream 4..11) never arrived; 12 is the first after them.
    expect(check.check({ streamSeq: 12, deliverySeq: 12, deliveryCount: 1 })).toEqual({
      kind: "gap",
      from: 4,
      to: 11,
    });
  });

  it("a gap at the very first delivery of a created durable (it starts at 1)", () => {
    const { check } = setup();
    check.started(true, { streamSeq: 99, consumerSeq: 0 }, 99);
    expect(check.check({ streamSeq: 101, deliverySeq: 2, deliveryCount: 1 })).toEqual({
      kind: "gap",
      from: 1,
      to: 1,
    });
  });

  it("counts redeliveries and out-of-order stream sequences as deliveries: no gap", () => {
    const { check } = setup();
    check.started(true, { streamSeq: 0, consumerSeq: 0 }, undefined);
    expect(firsts(check, 1, 3, 1)).toEqual(Array(3).fill(deliver));
    // Stream 2 was nak'ed: its redelivery takes delivery sequence 4, then new ones go on.
    expect(check.check({ streamSeq: 2, deliverySeq: 4, deliveryCount: 2 })).toEqual(deliver);
    expect(firsts(check, 4, 2, 5)).toEqual([deliver, deliver]);
    // A lost redelivery is a gap too.
    expect(check.check({ streamSeq: 3, deliverySeq: 8, deliveryCount: 2 })).toEqual({
      kind: "gap",
      from: 7,
      to: 7,
    });
  });

  it("an existing durable resumes at the server's delivery sequence when this instance has seen none", () => {
    const { check } = setup();
    check.started(false, { streamSeq: 500, consumerSeq: 219 }, undefined);
    expect(check.check({ streamSeq: 501, deliverySeq: 220, deliveryCount: 1 })).toEqual(deliver);
    expect(check.check({ streamSeq: 503, deliverySeq: 222, deliveryCount: 1 })).toEqual({
      kind: "gap",
      from: 221,
      to: 221,
    });
  });

  it("carries the delivery sequence over a restarted consumption of the same durable: what the server handed the stopped one is a gap", () => {
    const { check } = setup();
    check.started(true, { streamSeq: 0, consumerSeq: 0 }, undefined);
    expect(firsts(check, 1, 10, 1)).toEqual(Array(10).fill(deliver));
    // Consumption restarts (a new connection); the server had delivered 11 and 12 to the old pull.
    check.started(false, { streamSeq: 12, consumerSeq: 12 }, 10);
    expect(check.check({ streamSeq: 13, deliverySeq: 13, deliveryCount: 1 })).toEqual({
      kind: "gap",
      from: 11,
      to: 12,
    });
  });

  it("a restarted consumption that continues where this one stopped is no gap", () => {
    const { check } = setup();
    check.started(true, { streamSeq: 0, consumerSeq: 0 }, undefined);
    expect(firsts(check, 1, 10, 1)).toEqual(Array(10).fill(deliver));
    check.started(false, { streamSeq: 10, consumerSeq: 10 }, 10);
    expect(firsts(check, 11, 3, 11)).toEqual(Array(3).fill(deliver));
  });

  it("takes a delivery sequence that went back (the durable was recreated elsewhere) as the new start", () => {
    const { check } = setup();
    check.started(true, { streamSeq: 0, consumerSeq: 0 }, undefined);
    expect(firsts(check, 1, 10, 1)).toEqual(Array(10).fill(deliver));
    expect(check.check({ streamSeq: 11, deliverySeq: 1, deliveryCount: 1 })).toEqual(deliver);
    expect(check.check({ streamSeq: 12, deliverySeq: 2, deliveryCount: 1 })).toEqual(deliver);
    expect(check.check({ streamSeq: 14, deliverySeq: 4, deliveryCount: 1 })).toEqual({
      kind: "gap",
      from: 3,
      to: 3,
    });
  });

  it("after the recreation it asked for, starts over from the created durable", () => {
    const { check } = setup();
    check.started(true, { streamSeq: 0, consumerSeq: 0 }, undefined);
    firsts(check, 1, 3, 1);
    expect(check.check({ streamSeq: 12, deliverySeq: 12, deliveryCount: 1 }).kind).toBe("gap");
    // Recreated after stream sequence 3: the hole comes again, in order, from delivery 1.
    check.started(true, { streamSeq: 3, consumerSeq: 0 }, 3);
    expect(firsts(check, 4, 20, 1)).toEqual(Array(20).fill(deliver));
  });

  it("a recreation that failed (the durable still exists) sees the same gap again", () => {
    const { check } = setup();
    check.started(true, { streamSeq: 0, consumerSeq: 0 }, undefined);
    firsts(check, 1, 3, 1);
    expect(check.check({ streamSeq: 12, deliverySeq: 12, deliveryCount: 1 }).kind).toBe("gap");
    check.started(false, { streamSeq: 12, consumerSeq: 12 }, 3);
    expect(check.check({ streamSeq: 13, deliverySeq: 13, deliveryCount: 1 })).toEqual({
      kind: "gap",
      from: 4,
      to: 12,
    });
  });
});

describe("DeliveryCheck: hostile sequences from the broker", () => {
  it("delivers a message whose sequences cannot be read (NaN) without recreating, and picks up at the next", () => {
    const { check } = setup();
    check.started(true, { streamSeq: 0, consumerSeq: 0 }, undefined);
    firsts(check, 1, 3, 1);
    expect(
      check.check({ streamSeq: Number.NaN, deliverySeq: Number.NaN, deliveryCount: Number.NaN }),
    ).toEqual(deliver);
    expect(check.check({ streamSeq: 4, deliverySeq: 5, deliveryCount: 1 })).toEqual(deliver);
    expect(check.check({ streamSeq: 6, deliverySeq: 7, deliveryCount: 1 })).toEqual({
      kind: "gap",
      from: 6,
      to: 6,
    });
  });
});

describe("DeliveryCheck: a server that lost the durable's position (stream sequence)", () => {
  it("a first delivery at or below the delivered pointer is a lost position; redeliveries are not", () => {
    const { check } = setup();
    check.started(false, { streamSeq: 0, consumerSeq: 0 }, 8);
    // The server restarted with an empty state file: it starts over at stream sequence 1.
    expect(check.check({ streamSeq: 1, deliverySeq: 1, deliveryCount: 1 })).toEqual({
      kind: "lost",
      streamSeq: 1,
    });
    const other = setup().check;
    other.started(true, { streamSeq: 0, consumerSeq: 0 }, undefined);
    firsts(other, 1, 5, 1);
    expect(other.check({ streamSeq: 3, deliverySeq: 6, deliveryCount: 2 })).toEqual(deliver);
    expect(other.check({ streamSeq: 5, deliverySeq: 7, deliveryCount: 1 })).toEqual({
      kind: "lost",
      streamSeq: 5,
    });
  });

  it("a created durable starts where the server put it, even below what was settled (stream recreated)", () => {
    const { check } = setup();
    check.started(true, { streamSeq: 0, consumerSeq: 0 }, 500);
    expect(firsts(check, 1, 3, 1)).toEqual(Array(3).fill(deliver));
  });

  it("a lost position and a gap together are reported as the lost position", () => {
    const { check } = setup();
    check.started(true, { streamSeq: 0, consumerSeq: 0 }, undefined);
    firsts(check, 1, 5, 1);
    expect(check.check({ streamSeq: 2, deliverySeq: 9, deliveryCount: 1 })).toEqual({
      kind: "lost",
      streamSeq: 2,
    });
  });
});

describe("DeliveryCheck: recreations are rate-limited", () => {
  /** Makes the check see a gap: returns its verdict. */
  const gapOnce = (check: DeliveryCheck, at: number) => {
    check.started(true, { streamSeq: at, consumerSeq: 0 }, at);
    return check.check({ streamSeq: at + 3, deliverySeq: 3, deliveryCount: 1 });
  };

  it("the default allows a few recreations a minute and pauses for minutes", () => {
    expect(RECREATE_BUDGET.max).toBeGreaterThanOrEqual(3);
    expect(RECREATE_BUDGET.windowMs).toBeGreaterThanOrEqual(60_000);
    expect(RECREATE_BUDGET.pauseMs).toBeGreaterThanOrEqual(5 * 60_000);
  });

  it("gives up once after `max` recreations within the window, then delivers through gaps until the pause ends", () => {
    const { check, advance } = setup();
    for (let i = 0; i < 3; i++) {
      expect(gapOnce(check, i * 100).kind).toBe("gap");
      advance(1000);
    }
    // Two routers sharing the durable: gaps keep coming. The fourth is delivered, said once.
    expect(gapOnce(check, 300)).toEqual({ kind: "gave-up", why: "gap", recreations: 3 });
    // Within the pause: every gap and lost position is delivered, silently, tracking the sequences.
    expect(check.check({ streamSeq: 310, deliverySeq: 9, deliveryCount: 1 })).toEqual(deliver);
    expect(check.check({ streamSeq: 311, deliverySeq: 20, deliveryCount: 1 })).toEqual(deliver);
    expect(check.check({ streamSeq: 305, deliverySeq: 21, deliveryCount: 1 })).toEqual(deliver);
    expect(check.check({ streamSeq: 306, deliverySeq: 22, deliveryCount: 1 })).toEqual(deliver);
    advance(600_000);
    // The pause is over: the sequences were tracked meanwhile, so only a new gap counts.
    expect(check.check({ streamSeq: 307, deliverySeq: 23, deliveryCount: 1 })).toEqual(deliver);
    expect(check.check({ streamSeq: 309, deliverySeq: 25, deliveryCount: 1 })).toEqual({
      kind: "gap",
      from: 24,
      to: 24,
    });
  });

  it("recreations older than the window do not count", () => {
    const { check, advance } = setup();
    for (let i = 0; i < 10; i++) {
      expect(gapOnce(check, i * 100).kind).toBe("gap");
      advance(25_000); // 2.4 per minute: under the budget of 3
    }
  });

  it("lost positions share the budget with gaps, and say which one gave up", () => {
    const { check } = setup();
    expect(gapOnce(check, 0).kind).toBe("gap");
    expect(gapOnce(check, 100).kind).toBe("gap");
    check.started(false, { streamSeq: 0, consumerSeq: 0 }, 50);
    expect(check.check({ streamSeq: 1, deliverySeq: 1, deliveryCount: 1 })).toEqual({
      kind: "lost",
      streamSeq: 1,
    });
    check.started(false, { streamSeq: 0, consumerSeq: 0 }, 50);
    expect(check.check({ streamSeq: 2, deliverySeq: 1, deliveryCount: 1 })).toEqual({
      kind: "gave-up",
      why: "lost",
      recreations: 3,
    });
  });
});
