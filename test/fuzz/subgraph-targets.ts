/**
 * Fuzz target for what an ordinary subgraph sends back: random status codes, bodies (JSON-ish,
 * mutated JSON, binary, empty, chunked) and early hang-ups from a real node:http server. The
 * subgraph client must resolve with a parsed object or reject with a SubgraphError that names the
 * subgraph, never anything else, and never leave a request hanging past its deadline.
 */
import { once } from "node:events";
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import fc from "fast-check";
import { expect } from "vitest";
import { SubgraphClient, SubgraphError } from "../../src/subgraphs/client.js";
import { mutated } from "./arbitraries.js";
import { counts } from "./targets.js";

interface Answer {
  readonly status: number;
  readonly chunks: readonly Uint8Array[];
  readonly hangUp: "none" | "before-head" | "mid-body";
  readonly contentType: string;
}

const jsonish = fc.oneof(
  fc.json(),
  mutated(
    fc.constantFrom('{"data":{"_entities":[{"id":"1"}]}}', '{"errors":[{"message":"x"}]}', '{"data":null}'),
  ),
  fc.string(),
);

const answer: fc.Arbitrary<Answer> = fc.record({
  status: fc.oneof(
    fc.constantFrom(200, 204, 301, 400, 404, 500, 502, 503),
    fc.integer({ min: 100, max: 599 }),
  ),
  chunks: fc.oneof(
    jsonish.map((s) => [new TextEncoder().encode(s)]),
    fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 4 }),
    jsonish.chain((s) =>
      fc
        .nat(s.length)
        .map((cut) => [new TextEncoder().encode(s.slice(0, cut)), new TextEncoder().encode(s.slice(cut))]),
    ),
  ),
  hangUp: fc.constantFrom("none", "none", "none", "before-head", "mid-body"),
  contentType: fc.constantFrom("application/json", "text/html", "application/graphql-response+json", ""),
});

function respond(res: ServerResponse, a: Answer): void {
  if (a.hangUp === "before-head") {
    res.socket?.destroy();
    return;
  }
  // 1xx statuses are informational: Node refuses to send them as a final answer.
  res.statusCode = a.status < 200 ? 200 : a.status;
  if (a.contentType) res.setHeader("content-type", a.contentType);
  for (const c of a.chunks) res.write(c);
  if (a.hangUp === "mid-body") res.socket?.destroy();
  else res.end();
}

export async function subgraphAnswerTarget(runs: number, seed?: number): Promise<void> {
  let current: Answer | undefined;
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => respond(res, current!));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
  const client = new SubgraphClient(new Map([["sg", { name: "sg", url }]]) as never, 2000);
  try {
    await fc.assert(
      fc.asyncProperty(answer, async (a) => {
        counts.set("subgraph-answers", (counts.get("subgraph-answers") ?? 0) + 1);
        current = a;
        const t0 = performance.now();
        const outcome = await client.post("sg", "{ a }", {}).then(
          (v) => ({ ok: true as const, v }),
          (e: unknown) => ({ ok: false as const, e }),
        );
        expect(performance.now() - t0).toBeLessThan(5000);
        if (outcome.ok) expect(typeof outcome.v).toBe("object");
        else {
          expect(outcome.e).toBeInstanceOf(SubgraphError);
          expect((outcome.e as Error).message).toMatch(/^subgraph sg /);
          expect((outcome.e as Error).message).not.toContain("127.0.0.1");
        }
      }),
      { numRuns: runs, ...(seed === undefined ? {} : { seed }) },
    );
  } finally {
    await client.close();
    server.closeAllConnections();
    server.close();
  }
}
