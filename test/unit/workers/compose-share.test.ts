/** The primary composes each distinct input once for every worker (src/workers/compose-share.ts). */
import { describe, expect, it } from "vitest";
import type { ComposeResult, ServiceSdl } from "../../../src/schema/compose.js";
import { ComposeShare } from "../../../src/workers/compose-share.js";

const input = (sdl: string): ServiceSdl[] => [{ name: "a", url: "", sdl }];
const ok = (s: string): ComposeResult => ({ ok: true, supergraphSdl: s, publicSdl: s });

/** A composer that counts its runs and settles when told to. */
function slowComposer() {
  const calls: { services: readonly ServiceSdl[]; settle: (r: ComposeResult | Error) => void }[] = [];
  const composeOnce = (services: readonly ServiceSdl[]) =>
    new Promise<ComposeResult>((resolve, reject) =>
      calls.push({ services, settle: (r) => (r instanceof Error ? reject(r) : resolve(r)) }),
    );
  return { calls, composeOnce };
}

describe("ComposeShare", () => {
  it("four workers asking at once for the same input get one composition", async () => {
    const c = slowComposer();
    const share = new ComposeShare(c.composeOnce);
    const asks = [1, 2, 3, 4].map(() => share.compose(input("type Query { a: Int }")));
    expect(c.calls).toHaveLength(1);
    c.calls[0]!.settle(ok("S"));
    expect(await Promise.all(asks)).toEqual([ok("S"), ok("S"), ok("S"), ok("S")]);
    // A worker restarted later gets the kept result.
    expect(await share.compose(input("type Query { a: Int }"))).toEqual(ok("S"));
    expect(share.runsStarted).toBe(1);
  });

  it("a changed schema (a reload) is composed again; the newest two inputs are kept", async () => {
    const share = new ComposeShare(async (services) => ok(services[0]!.sdl));
    for (const sdl of ["A", "B", "C"]) expect(await share.compose(input(sdl))).toEqual(ok(sdl));
    expect(share.runsStarted).toBe(3);
    await share.compose(input("C"));
    await share.compose(input("B"));
    expect(share.runsStarted).toBe(3);
    await share.compose(input("A"));
    expect(share.runsStarted).toBe(4);
  });

  it("a composition that crashed reaches every waiter and is tried again next time", async () => {
    const c = slowComposer();
    const share = new ComposeShare(c.composeOnce);
    const asks = [share.compose(input("X")), share.compose(input("X"))];
    c.calls[0]!.settle(new Error("child exited with 1"));
    for (const r of await Promise.allSettled(asks)) expect(r.status).toBe("rejected");
    const again = share.compose(input("X"));
    expect(c.calls).toHaveLength(2);
    c.calls[1]!.settle(ok("X"));
    expect(await again).toEqual(ok("X"));
  });

  it("a composition with errors is a result like any other (the schema is wrong, not the run)", async () => {
    const share = new ComposeShare(async () => ({ ok: false, errors: ["boom"] }));
    expect(await share.compose(input("bad"))).toEqual({ ok: false, errors: ["boom"] });
    await share.compose(input("bad"));
    expect(share.runsStarted).toBe(1);
  });
});
