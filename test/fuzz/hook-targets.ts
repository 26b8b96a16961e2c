/**
 * Fuzz target for stream hook results (issue 13: what a hook returns is input too): wrong shapes,
 * huge arrays, non-JSON data, throwing getters and proxies, through every check in
 * src/hooks/results.ts.
 */
import fc from "fast-check";
import { expect } from "vitest";
import {
  createResult,
  deliverResult,
  emittedEvent,
  MAX_RECEIVED_EVENTS,
  ORIGIN,
  publishResult,
  receiveResult,
} from "../../src/hooks/results.js";
import { counts } from "./targets.js";

const inputs = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ data: { i }, headers: {}, [ORIGIN]: i }));

/** Anything a hook could hand back: JSON-ish values, odd objects, huge arrays, non-JSON values. */
const hostile: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.anything({
      withBigInt: true,
      withMap: true,
      withSet: true,
      withDate: true,
      withTypedArray: true,
      withNullPrototype: true,
      withObjectString: true,
      withSparseArray: true,
    }),
    fc.constant(() => 1),
    fc.constant(
      new Proxy(
        {},
        {
          ownKeys: () => {
            throw new Error("trap");
          },
          get: () => {
            throw new Error("trap");
          },
        },
      ),
    ),
    fc.constant(
      Object.defineProperty({}, "data", {
        enumerable: true,
        get: () => {
          throw new Error("getter");
        },
      }),
    ),
    fc.constant(Symbol("s")),
    fc.constant(new Array(MAX_RECEIVED_EVENTS + 5).fill({ data: {} })),
    fc.record(
      { data: tie("value"), headers: tie("value"), topics: tie("value"), key: tie("value") },
      { requiredKeys: [] },
    ),
    fc.array(fc.record({ data: tie("value"), headers: tie("value") }, { requiredKeys: [] }), {
      maxLength: 5,
    }),
  ),
})).value;

/** A checked value must be plain JSON: it survives a round trip unchanged. */
const isJson = (v: unknown): boolean => JSON.stringify(JSON.parse(JSON.stringify(v))) === JSON.stringify(v);

/**
 * Any value through every result check: never a throw, and what is accepted is plain JSON of the
 * promised shape (a refusal always says why).
 */
export function hookResultTarget(runs: number, seed?: number): void {
  fc.assert(
    fc.property(hostile, (v) => {
      counts.set("hook-results", (counts.get("hook-results") ?? 0) + 1);
      const results = [
        ["create", createResult(v)],
        ["deliver", deliverResult(v, 10_000)],
        ["publish", publishResult(v, 10_000)],
        ["receive", receiveResult(v, inputs(2), 10_000)],
        ["emit", emittedEvent(v, 10_000)],
      ] as const;
      for (const [name, r] of results) {
        if (!r.ok) {
          expect(typeof r.reason, name).toBe("string");
          expect(r.reason.length, name).toBeGreaterThan(0);
          continue;
        }
        const value = r.value as unknown;
        if (name === "create" && value !== undefined)
          expect((value as string[]).every((t) => typeof t === "string" && t !== "")).toBe(true);
        if (name === "deliver" && (value as { kind: string }).kind === "map")
          expect(isJson((value as { data: unknown }).data)).toBe(true);
        if (name === "publish") {
          const p = value as { data?: unknown; headers?: Record<string, unknown>; key?: unknown };
          if (p.data !== undefined) expect(isJson(p.data)).toBe(true);
          if (p.headers) expect(Object.values(p.headers).every((h) => typeof h === "string")).toBe(true);
          if (p.key !== undefined) expect(typeof p.key).toBe("string");
        }
        if (name === "receive" && value !== undefined) {
          const events = value as { data: unknown; headers: Record<string, unknown>; origin?: number }[];
          expect(events.length).toBeLessThanOrEqual(MAX_RECEIVED_EVENTS);
          for (const e of events) {
            expect(isJson(e.data)).toBe(true);
            expect(e.data !== null && typeof e.data === "object" && !Array.isArray(e.data)).toBe(true);
            expect(Object.values(e.headers).every((h) => typeof h === "string")).toBe(true);
            expect(e.origin === undefined || e.origin === 0 || e.origin === 1).toBe(true);
          }
        }
        if (name === "emit") expect(isJson(value)).toBe(true);
      }
    }),
    { numRuns: runs, ...(seed !== undefined ? { seed } : {}) },
  );
}
