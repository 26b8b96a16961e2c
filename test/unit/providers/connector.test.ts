import { describe, expect, it } from "vitest";
import { ErrorCode, StreamgateError } from "../../../src/errors.js";
import { Connector, type ConnectorOptions } from "../../../src/providers/connector.js";

/** A promise with its resolve/reject at hand. */
function deferred(): { promise: Promise<void>; resolve: () => void; reject: (err: unknown) => void } {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * A fake provider: `attempts` says how each connect attempt ends (by default it succeeds), and a
 * successful attempt makes it connected, as a provider keeping its clients would be.
 */
function fakeProvider(
  attempts: (n: number) => Promise<void> = async () => undefined,
  extra: Partial<ConnectorOptions> = {},
) {
  const state = { calls: 0, connected: false, backoffs: [] as [number, number][] };
  const connector = new Connector({
    label: 'Fake provider "f"',
    connectOnce: async () => {
      state.calls++;
      await attempts(state.calls);
      state.connected = true;
    },
    isConnected: () => state.connected,
    backoff: (failed, elapsed) => {
      state.backoffs.push([failed, elapsed]);
      return 1;
    },
    ...extra,
  });
  return { connector, state };
}

const down = (n: number) => new StreamgateError(ErrorCode.PROVIDER_UNAVAILABLE, `attempt ${n}: broker down`);

describe("Connector", () => {
  it("shares one attempt between concurrent starts, and makes none once connected", async () => {
    const gate = deferred();
    const { connector, state } = fakeProvider(() => gate.promise);
    const a = connector.start();
    const b = connector.start();
    expect(state.calls).toBe(1);
    gate.resolve();
    await Promise.all([a, b]);
    await connector.start();
    expect(state.calls).toBe(1);
  });

  it("rejects every caller of a failed attempt with its error, and tries again on the next start", async () => {
    const gate = deferred();
    const { connector, state } = fakeProvider((n) => (n === 1 ? gate.promise : Promise.resolve()));
    const a = connector.start();
    const b = connector.start();
    gate.reject(down(1));
    await expect(a).rejects.toThrow("attempt 1: broker down");
    await expect(b).rejects.toThrow("attempt 1: broker down");
    await connector.start();
    expect(state.calls).toBe(2);
    expect(state.connected).toBe(true);
  });

  it("retries in the background with backoff until an attempt succeeds", async () => {
    const { connector, state } = fakeProvider(async (n) => {
      if (n < 4) throw down(n);
    });
    const bg = connector.startInBackground();
    expect(connector.startInBackground()).toBe(bg);
    await expect(bg).resolves.toBeUndefined();
    expect(state.calls).toBe(4);
    expect(state.connected).toBe(true);
    // One backoff per failed attempt, counted from 1, with the time since the background start.
    expect(state.backoffs.map(([failed]) => failed)).toEqual([1, 2, 3]);
    const elapsed = state.backoffs.map(([, ms]) => ms);
    expect(elapsed).toEqual([...elapsed].sort((x, y) => x - y));
    expect(elapsed[0]).toBeGreaterThanOrEqual(0);
  });

  it("does nothing in the background when already connected", async () => {
    const { connector, state } = fakeProvider();
    await connector.start();
    await connector.startInBackground();
    expect(state.calls).toBe(1);
  });

  it("ends a background start promptly on stop, even in a long backoff, without rejecting", async () => {
    const first = deferred();
    const { connector, state } = fakeProvider(
      async (n) => {
        if (n === 1) first.resolve();
        throw down(n);
      },
      { backoff: () => 60_000 },
    );
    const bg = connector.startInBackground();
    await first.promise;
    await new Promise((r) => setTimeout(r, 10)); // now asleep in the backoff
    const t0 = Date.now();
    await connector.stop();
    expect(Date.now() - t0).toBeLessThan(1000);
    await expect(bg).resolves.toBeUndefined();
    expect(state.calls).toBe(1);
    expect(connector.stopped).toBe(true);
  });

  it("on stop, runs onStop first, then waits for the attempt in progress", async () => {
    const gate = deferred();
    const order: string[] = [];
    const { connector } = fakeProvider(
      async () => {
        await gate.promise;
        order.push("attempt ended");
        throw down(1);
      },
      { onStop: () => order.push("onStop") },
    );
    const bg = connector.startInBackground();
    const stopped = connector.stop().then(() => order.push("stopped"));
    expect(order).toEqual(["onStop"]);
    gate.resolve(); // a real provider's onStop would abort the attempt
    await stopped;
    await expect(bg).resolves.toBeUndefined();
    expect(order).toEqual(["onStop", "attempt ended", "stopped"]);
  });

  it("rejects a start after stop with PROVIDER_UNAVAILABLE, without connecting", async () => {
    const { connector, state } = fakeProvider();
    await connector.stop();
    const err = await connector.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StreamgateError);
    expect((err as StreamgateError).code).toBe(ErrorCode.PROVIDER_UNAVAILABLE);
    expect((err as StreamgateError).message).toBe('Fake provider "f" is stopped');
    await expect(connector.startInBackground()).resolves.toBeUndefined();
    expect(state.calls).toBe(0);
  });
});
