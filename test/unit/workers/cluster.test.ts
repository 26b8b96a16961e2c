/**
 * ClusterLink over real MessageChannels between three links in one thread; the engines are fakes
 * that record what they were asked to run and let the test play the owner's events.
 */
import { MessageChannel } from "node:worker_threads";
import { afterEach, describe, expect, it, vi } from "vitest";
import { anonymous, type OperationRequest, type OperationSink } from "../../../src/engine/types.js";
import { createLogger } from "../../../src/observability/logger.js";
import { ClusterLink } from "../../../src/workers/cluster.js";
import { ownerOf } from "../../../src/workers/ring.js";

class FakeEngine {
  runs: { req: OperationRequest; sink: OperationSink; cancelled: boolean }[] = [];
  executeLocal(req: OperationRequest, sink: OperationSink) {
    const run = { req, sink, cancelled: false };
    this.runs.push(run);
    return {
      cancel: () => {
        run.cancelled = true;
      },
    };
  }
}

const logger = createLogger("silent");
let links: ClusterLink[] = [];

function cluster(n: number, attach = true) {
  const engines = Array.from({ length: n }, () => new FakeEngine());
  const stats = Array.from({ length: n }, () => ({ deliveries: 0 }));
  links = engines.map((_, i) => new ClusterLink(i, { postMessage() {} }, logger));
  for (let a = 0; a < n; a++)
    for (let b = a + 1; b < n; b++) {
      const { port1, port2 } = new MessageChannel();
      links[a]!.addPeer(b, port1);
      links[b]!.addPeer(a, port2);
    }
  if (attach) for (const [i, l] of links.entries()) l.attach(engines[i]!, new Map(), stats[i]!);
  return { links, engines, stats };
}

afterEach(() => {
  for (const l of links) l.close();
});

/** A trigger key owned by `owner` among `live`, and by `then` once `gone` left. */
function keyOwnedBy(owner: number, live: number[], gone?: number, then?: number): string {
  for (let i = 0; ; i++) {
    const k = `p\u0001t.${i}`;
    if (ownerOf(k, live) !== owner) continue;
    if (
      gone === undefined ||
      ownerOf(
        k,
        live.filter((w) => w !== gone),
      ) === then
    )
      return k;
  }
}

const sink = () => {
  const s = { got: [] as string[], errors: [] as unknown[], done: false } as {
    got: string[];
    errors: unknown[];
    done: boolean;
  } & OperationSink;
  s.next = (json) => {
    s.got.push(json);
  };
  s.error = (e) => {
    s.errors.push(e);
  };
  s.complete = () => {
    s.done = true;
  };
  return s;
};

const REQ: OperationRequest = { query: "subscription { x }" };
const CTX = anonymous("10.0.0.1");

describe("ClusterLink", () => {
  it("forwards one subscription per group to the owner and fans its results out", async () => {
    const { links, engines, stats } = cluster(3);
    const key = keyOwnedBy(1, [0, 1, 2]);
    expect(links[0]!.isLocal(key)).toBe(false);
    expect(links[1]!.isLocal(key)).toBe(true);
    const sinks = [sink(), sink(), sink()];
    const runs = sinks.map((s) => links[0]!.subscribe(key, "g", REQ, CTX, undefined, s));
    await vi.waitFor(() => expect(engines[1]!.runs).toHaveLength(1));
    expect(engines[1]!.runs[0]!.req).toEqual(REQ);
    engines[1]!.runs[0]!.sink.next('{"data":1}');
    await vi.waitFor(() =>
      expect(sinks.map((s) => s.got)).toEqual([['{"data":1}'], ['{"data":1}'], ['{"data":1}']]),
    );
    // Three client deliveries at the requester; the owner's hand-off is not a delivery.
    expect(stats[0]!.deliveries).toBe(3);
    expect(stats[1]!.deliveries).toBe(-1);
    runs[0]!.cancel();
    runs[1]!.cancel();
    await new Promise((r) => setTimeout(r, 20));
    expect(engines[1]!.runs[0]!.cancelled).toBe(false);
    runs[2]!.cancel();
    await vi.waitFor(() => expect(engines[1]!.runs[0]!.cancelled).toBe(true));
  });

  it("moves a group to the next owner when its owner dies", async () => {
    const { links, engines } = cluster(3);
    const key = keyOwnedBy(1, [0, 1, 2], 1, 2);
    const s = sink();
    links[0]!.subscribe(key, "g", REQ, CTX, undefined, s);
    await vi.waitFor(() => expect(engines[1]!.runs).toHaveLength(1));
    links[0]!.removePeer(1);
    links[2]!.removePeer(1);
    await vi.waitFor(() => expect(engines[2]!.runs).toHaveLength(1));
    engines[2]!.runs[0]!.sink.next("after");
    // A late event from the dead owner's channel would be ignored; the new owner's arrives.
    await vi.waitFor(() => expect(s.got).toEqual(["after"]));
  });

  it("runs a group locally when the ring moves it to the requesting worker", async () => {
    const { links, engines } = cluster(3);
    const key = keyOwnedBy(1, [0, 1, 2], 1, 0);
    const s = sink();
    links[0]!.subscribe(key, "g", REQ, CTX, undefined, s);
    await vi.waitFor(() => expect(engines[1]!.runs).toHaveLength(1));
    links[0]!.removePeer(1);
    expect(engines[0]!.runs).toHaveLength(1);
    engines[0]!.runs[0]!.sink.next("local");
    expect(s.got).toEqual(["local"]);
  });

  it("stops what it served for a worker that died", async () => {
    const { links, engines } = cluster(2);
    const key = keyOwnedBy(1, [0, 1]);
    links[0]!.subscribe(key, "g", REQ, CTX, undefined, sink());
    await vi.waitFor(() => expect(engines[1]!.runs).toHaveLength(1));
    links[1]!.removePeer(0);
    expect(engines[1]!.runs[0]!.cancelled).toBe(true);
  });

  it("passes the owner's errors to every client of the group and forgets the group", async () => {
    const { links, engines } = cluster(2);
    const key = keyOwnedBy(1, [0, 1]);
    const a = sink();
    const b = sink();
    links[0]!.subscribe(key, "g", REQ, CTX, undefined, a);
    links[0]!.subscribe(key, "g", REQ, CTX, undefined, b);
    await vi.waitFor(() => expect(engines[1]!.runs).toHaveLength(1));
    engines[1]!.runs[0]!.sink.error([{ message: "broker down" }]);
    await vi.waitFor(() =>
      expect([a.errors, b.errors]).toEqual([[[{ message: "broker down" }]], [[{ message: "broker down" }]]]),
    );
    // A new subscriber starts a fresh forwarded subscription.
    links[0]!.subscribe(key, "g", REQ, CTX, undefined, sink());
    await vi.waitFor(() => expect(engines[1]!.runs).toHaveLength(2));
  });

  it("serves requests that arrive before its engine is attached", async () => {
    const { links, engines } = cluster(2, false);
    links[0]!.attach(engines[0]!, new Map(), { deliveries: 0 });
    const key = keyOwnedBy(1, [0, 1]);
    links[0]!.subscribe(key, "g", REQ, CTX, undefined, sink());
    await new Promise((r) => setTimeout(r, 20));
    expect(engines[1]!.runs).toHaveLength(0);
    links[1]!.attach(engines[1]!, new Map(), { deliveries: 0 });
    expect(engines[1]!.runs).toHaveLength(1);
  });

  it("relays embedded-broker publishes to the other workers", async () => {
    const { links } = cluster(2, false);
    const got: [string, string][] = [];
    links[1]!.attach(
      new FakeEngine(),
      new Map([["mem", { deliver: (t, d) => void got.push([t, Buffer.from(d).toString()]) }]]),
      {
        deliveries: 0,
      },
    );
    links[0]!.attach(new FakeEngine(), new Map(), { deliveries: 0 });
    links[0]!.relay("mem", "a.b", Buffer.from("hi"));
    await vi.waitFor(() => expect(got).toEqual([["a.b", "hi"]]));
  });
});
