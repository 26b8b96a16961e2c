import { describe, expect, it } from "vitest";
import { PendingOperation } from "../../../src/engine/pending-operation.js";
import type { RunningOperation } from "../../../src/engine/types.js";

const op = (cursor?: string) => {
  const state = { cancelled: 0 };
  const running: RunningOperation = {
    cancel: () => {
      state.cancelled++;
    },
    ...(cursor !== undefined ? { cursor: () => cursor } : {}),
  };
  return { running, state };
};

describe("PendingOperation", () => {
  it("counts as at-least-once until the operation comes, then is what the operation is", () => {
    const plain = new PendingOperation();
    expect(plain.cursor).toBeTypeOf("function");
    expect(plain.cursor?.()).toBeUndefined();
    plain.attach(op().running);
    expect(plain.cursor).toBeUndefined();

    const alo = new PendingOperation();
    alo.attach(op("c-1").running);
    expect(alo.cursor?.()).toBe("c-1");
  });

  it("cancels an operation that comes after it was cancelled, and a running one once", () => {
    const early = new PendingOperation();
    early.cancel();
    const late = op();
    early.attach(late.running);
    expect(late.state.cancelled).toBe(1);

    const running = new PendingOperation();
    const inner = op();
    running.attach(inner.running);
    running.cancel();
    expect(inner.state.cancelled).toBe(1);
  });
});
