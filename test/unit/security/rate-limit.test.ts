import { describe, expect, it } from "vitest";
import { anonymous } from "../../../src/engine/types.js";
import { RateLimiter } from "../../../src/security/rate-limit.js";

function clock() {
  const c = { t: 0, now: () => c.t };
  return c;
}
const user = (sub: string, ip = "10.0.0.1") => ({ ...anonymous(ip), auth: { claims: { sub } } });

describe("RateLimiter", () => {
  it("allows a burst, then one per 1/rate seconds, saying how long to wait", () => {
    const c = clock();
    const rl = new RateLimiter({ rate: 2, burst: 3, key: "ip" }, c.now);
    const ctx = anonymous("1.2.3.4");
    expect([rl.take(ctx), rl.take(ctx), rl.take(ctx)]).toEqual([undefined, undefined, undefined]);
    expect(rl.take(ctx)).toBe(0.5);
    c.t = 250;
    expect(rl.take(ctx)).toBe(0.25);
    c.t = 500;
    expect(rl.take(ctx)).toBeUndefined();
    expect(rl.take(ctx)).toBe(0.5);
  });

  it("keys by claim, falling back to the address for callers without it", () => {
    const c = clock();
    const rl = new RateLimiter({ rate: 1, burst: 1, key: "claim:sub" }, c.now);
    expect(rl.take(user("alice", "1.1.1.1"))).toBeUndefined();
    expect(rl.take(user("alice", "2.2.2.2"))).toBe(1); // same user elsewhere: same bucket
    expect(rl.take(user("bob", "1.1.1.1"))).toBeUndefined();
    expect(rl.take(anonymous("1.1.1.1"))).toBeUndefined(); // no claim: the address's bucket
    expect(rl.take(anonymous("1.1.1.1"))).toBe(1);
    expect(rl.keyOf({ ...anonymous("9.9.9.9"), auth: { claims: { sub: { nested: true } } } })).toBe(
      "i:9.9.9.9",
    );
  });

  it("defaults burst to twice the rate, and forgets refilled buckets so memory follows busy clients", () => {
    const c = clock();
    const rl = new RateLimiter({ rate: 10, key: "ip" }, c.now);
    for (let i = 0; i < 20; i++) expect(rl.take(anonymous("a"))).toBeUndefined();
    expect(rl.take(anonymous("a"))).toBeGreaterThan(0);
    for (let i = 0; i < 5000; i++) rl.take(anonymous(`ip${i}`));
    c.t = 10_000;
    rl.take(anonymous("late"));
    expect(rl.size).toBeLessThan(100);
  });
});
