/**
 * Test helpers for provider tests: poll a condition against a deadline (never a fixed sleep) and
 * collect the events a subscription receives.
 */
import { randomBytes } from "node:crypto";
import type { BrokerEvent, EventsHandler } from "../../src/providers/provider.js";

/**
 * Resolves once `cond()` is truthy; rejects with `what` after `timeoutMs`. `cond` may be async and
 * may throw (treated as not yet).
 */
export async function waitFor(
  cond: () => unknown,
  what: string,
  timeoutMs = 10_000,
  intervalMs = 10,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      if (await cond()) return;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs}ms waiting for ${what}${last ? ` (last error: ${last})` : ""}`,
      );
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** A fresh topic prefix per test, valid for every broker: NATS tokens, Kafka names, Redis channels. */
export function randomPrefix(): string {
  return `sgt${randomBytes(6).toString("hex")}`;
}

/** Records every event an `onEvents` handler receives, in order. */
export class Collector {
  readonly events: BrokerEvent[] = [];
  /** Pass this to subscribe(). */
  readonly handler: EventsHandler = (events) => {
    this.events.push(...events);
  };

  /** Payloads decoded as UTF-8, in arrival order. */
  texts(): string[] {
    return this.events.map((e) => Buffer.from(e.data).toString("utf8"));
  }

  /** Resolves once at least `n` events arrived. */
  async waitForCount(n: number, timeoutMs = 10_000): Promise<void> {
    await waitFor(() => this.events.length >= n, `${n} events (have ${this.events.length})`, timeoutMs);
  }

  /** Resolves once an event with this UTF-8 payload arrived. */
  async waitForText(text: string, timeoutMs = 10_000): Promise<void> {
    await waitFor(() => this.texts().includes(text), `event ${JSON.stringify(text)}`, timeoutMs);
  }
}

/** UTF-8 bytes of `s`. */
export function bytes(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}
