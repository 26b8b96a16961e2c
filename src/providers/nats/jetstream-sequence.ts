/**
 * What DurableConsumer makes of each delivery's sequences, kept pure (no I/O, clock injected) so
 * every case is unit-tested. Two things mean the durable must be recreated after what was settled:
 *
 * - **Lost position**: the server hands a consumer its first deliveries (delivery count 1) in
 *   stream order past its delivered pointer; one at or below it means the server went back
 *   (nats-server 2.9 after a restart that left the consumer's state file empty).
 * - **Gap**: the consumer (delivery) sequence grows by one per delivery, redeliveries included.
 *   A jump means deliveries were lost in transit, e.g. written by a server that was killed before
 *   they left its socket. The server counts them as delivered and would send them again only
 *   after ack_wait (30 s), after newer events: recreating the durable sends them now, in order.
 *
 * Recreations are rate-limited: two routers sharing an instance id pull from one durable, so each
 * sees gaps all the time and deletes the durable under the other. After {@link RecreateBudget.max}
 * recreations within a window, checks only track the sequences for a pause, and say so once.
 */

/** The sequences of one delivery, from its ack subject (nats.js `JsMsg.info`). */
export interface DeliverySeqs {
  /** The message's stream sequence. */
  readonly streamSeq: number;
  /** The consumer's delivery sequence: one more per delivery, redeliveries included. */
  readonly deliverySeq: number;
  /** 1 for a first delivery. */
  readonly deliveryCount: number;
}

/** What to do with one delivery. */
export type Verdict =
  | { readonly kind: "deliver" }
  /** The server went back to `streamSeq`: recreate the durable, do not deliver this one. */
  | { readonly kind: "lost"; readonly streamSeq: number }
  /** Deliveries `from`..`to` (delivery sequences) never arrived: recreate, do not deliver this one. */
  | { readonly kind: "gap"; readonly from: number; readonly to: number }
  /**
   * Deliver it, but recreating stopped: `recreations` within the budget's window did not help.
   * Returned once per pause; the deliveries after it in the pause are plain `deliver`.
   */
  | { readonly kind: "gave-up"; readonly why: "lost" | "gap"; readonly recreations: number };

/** How often a durable may be recreated before the checks pause. */
export interface RecreateBudget {
  readonly max: number;
  readonly windowMs: number;
  readonly pauseMs: number;
}

/**
 * Three in a minute: one server restart or reconnect costs one; a durable shared with another
 * process costs one every few messages. Each recreation there can lose the messages the server
 * had just handed the other process (the durable is deleted under it), so few are allowed, and
 * ten minutes of pause keep such a pair from doing it more than a few times an hour.
 */
export const RECREATE_BUDGET: RecreateBudget = { max: 3, windowMs: 60_000, pauseMs: 600_000 };

const DELIVER: Verdict = { kind: "deliver" };

/**
 * The checks of one durable (see the module comment): one per DurableConsumer, outliving its
 * consumptions so the delivery sequence carries over and the budget counts every recreation.
 */
export class DeliveryCheck {
  /** The server's delivered pointer (stream sequence) as this consumer saw it. */
  private delivered = 0;
  /** The last delivery sequence seen (or the server's when a consumption started). */
  private deliverySeq: number | undefined;
  /** When the durable was recreated, within the budget's window. */
  private readonly recreations: number[] = [];
  private pausedUntil = 0;

  constructor(
    private readonly budget: RecreateBudget = RECREATE_BUDGET,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * A consumption starts on a durable the server describes with `server` (its delivered
   * pointers). `created`: the router created it just now (it starts where the server put it).
   * `after`: what this instance settled, for one that existed (a server that went back is then
   * caught on its first delivery). The delivery sequence carries over from an earlier consumption
   * of the same durable: what the server handed to a consumption that was stopped (and dropped it)
   * shows as a gap, rather than waiting for ack_wait.
   */
  started(
    created: boolean,
    server: { streamSeq: number; consumerSeq: number },
    after: number | undefined,
  ): void {
    this.delivered = created ? server.streamSeq : Math.max(server.streamSeq, after ?? 0);
    if (created || this.deliverySeq === undefined) this.deliverySeq = server.consumerSeq;
  }

  check(d: DeliverySeqs): Verdict {
    const lost = d.deliveryCount === 1 && d.streamSeq <= this.delivered;
    const expected = this.deliverySeq === undefined ? d.deliverySeq : this.deliverySeq + 1;
    const gap = d.deliverySeq > expected;
    if (!lost && !gap) {
      this.accept(d);
      return DELIVER;
    }
    const now = this.now();
    if (now >= this.pausedUntil) {
      while (this.recreations.length > 0 && this.recreations[0]! <= now - this.budget.windowMs) {
        this.recreations.shift();
      }
      if (this.recreations.length < this.budget.max) {
        this.recreations.push(now);
        // Not accepted: the consumption restarts, and started() sets the pointers again.
        return lost
          ? { kind: "lost", streamSeq: d.streamSeq }
          : { kind: "gap", from: expected, to: d.deliverySeq - 1 };
      }
      this.pausedUntil = now + this.budget.pauseMs;
      const recreations = this.recreations.length;
      this.recreations.length = 0;
      this.accept(d);
      return { kind: "gave-up", why: lost ? "lost" : "gap", recreations };
    }
    this.accept(d);
    return DELIVER;
  }

  /**
   * Takes the delivery's sequences as the new pointers. A delivery sequence below the expected one
   * (the durable was recreated elsewhere, or the server restored an older state) is taken as is:
   * the lost-position check covers a server that went back.
   */
  private accept(d: DeliverySeqs): void {
    this.deliverySeq = d.deliverySeq;
    if (d.deliveryCount === 1) this.delivered = d.streamSeq;
  }
}
