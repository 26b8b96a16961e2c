/**
 * The fuzz targets of targets.ts. In `npm test` a slice runs (well under a minute); `npm run fuzz`
 * (FUZZ=full) runs over a million cases and prints the count and time per target. FUZZ_SEED
 * replays a failure that fast-check reported.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningRouter, startRouterProcess, tempFiles } from "../helpers/router.js";
import {
  configTarget,
  counts,
  eventTarget,
  type FuzzEngine,
  fuzzEngine,
  httpTarget,
  operationTarget,
  protocolTarget,
  sessionTarget,
} from "./targets.js";
import { cursorTarget, tokenTarget } from "./delivery-auth-targets.js";
import { hookResultTarget } from "./hook-targets.js";
import { subgraphAnswerTarget } from "./subgraph-targets.js";

const FULL = process.env.FUZZ === "full";
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined;
/** Cases per target: [slice, full]. The full sizes sum to over 1,000,000. */
const RUNS = {
  protocol: FULL ? 300_000 : 3000,
  session: FULL ? 100_000 : 1000,
  operation: FULL ? 120_000 : 1500,
  event: FULL ? 60_000 : 1000,
  config: FULL ? 25_000 : 500,
  configFile: FULL ? 2000 : 50,
  http: FULL ? 5000 : 200,
  cursor: FULL ? 100_000 : 2000,
  token: FULL ? 20_000 : 300,
  hookResults: FULL ? 100_000 : 2000,
  subgraphAnswers: FULL ? 20_000 : 300,
};
const TIMEOUT = FULL ? 3_600_000 : 60_000;

/**
 * Runs a synchronous target in chunks, yielding between them: one property blocking the worker
 * for a minute makes vitest's own RPC time out ("Timeout calling onTaskUpdate").
 */
async function chunked(runs: number, run: (n: number) => void | Promise<void>): Promise<void> {
  const CHUNK = 20_000;
  for (let done = 0; done < runs; done += CHUNK) {
    await run(Math.min(CHUNK, runs - done));
    await new Promise((r) => setImmediate(r));
  }
}
const started = performance.now();

afterAll(() => {
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  const lines = [...counts].map(([k, v]) => `  ${k}: ${v}`).join("\n");
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  process.stdout.write(`fuzz: ${total} cases in ${seconds} s\n${lines}\n`);
});

describe("fuzz: WebSocket protocols and sessions", () => {
  for (const legacy of [false, true]) {
    const name = legacy ? "graphql-ws (legacy)" : "graphql-transport-ws";
    it(
      `${name}: parsing never throws, reasons fit a close frame`,
      () => {
        protocolTarget(legacy, RUNS.protocol, SEED);
      },
      TIMEOUT,
    );
    it(
      `${name}: the session keeps its invariants on any frame sequence`,
      () => {
        sessionTarget(legacy, RUNS.session, SEED);
      },
      TIMEOUT,
    );
  }
});

describe("fuzz: operations and events through the engine", () => {
  let rig: FuzzEngine;
  beforeAll(async () => {
    rig = await fuzzEngine();
  });
  it(
    "documents and variables: planning, templates and subscribe never throw, nothing leaks",
    async () => {
      await chunked(RUNS.operation, (n) => operationTarget(rig, n, SEED));
    },
    TIMEOUT,
  );
  it(
    "event bytes: decoding, checks, filters and shaping never throw",
    async () => {
      await eventTarget(rig, RUNS.event, SEED);
    },
    TIMEOUT,
  );
});

describe("fuzz: stream hook results", () => {
  it(
    "anything a hook returns: accepted as plain JSON of its shape, or refused with a reason",
    async () => {
      await chunked(RUNS.hookResults, (n) => hookResultTarget(n, SEED));
    },
    TIMEOUT,
  );
});

describe("fuzz: ordinary subgraphs' answers", () => {
  it(
    "any status, body or hang-up: a parsed answer or a SubgraphError naming the subgraph",
    async () => {
      await subgraphAnswerTarget(RUNS.subgraphAnswers, SEED);
    },
    TIMEOUT,
  );
});

describe("fuzz: config loader", () => {
  it(
    "random YAML: a frozen config or a StreamgateError",
    async () => {
      await configTarget(RUNS.config, RUNS.configFile, SEED);
    },
    TIMEOUT,
  );
});

describe("fuzz: HTTP against a running router", () => {
  let router: RunningRouter;
  beforeAll(async () => {
    const { HOSTILE_SDL } = await import("../helpers/hostile.js");
    const dir = await tempFiles({
      "events.graphql": HOSTILE_SDL,
      "config.yaml": `listen_addr: 127.0.0.1:0
subgraphs:
  - name: events
    schema_file: ./events.graphql
events:
  providers:
    nats:
      - id: default
        url: "memory://"
limits:
  body_read_timeout: 1s
`,
    });
    router = await startRouterProcess(["--config", `${dir}/config.yaml`]);
  });
  afterAll(async () => {
    expect(await router?.stop()).toBe(0);
  });
  it(
    "every request gets a status line or a closed connection; the router lives",
    async () => {
      await httpTarget(router.port, RUNS.http, SEED);
      const live = await fetch(`${router.http}/health/live`);
      expect(live.status).toBe(200);
      expect(router.process.exitCode).toBeNull();
    },
    TIMEOUT,
  );
});

describe("fuzz: resume cursors and tokens", () => {
  it(
    "a cursor that is not the one the router signed is refused with CURSOR_INVALID, nothing else",
    async () => {
      await chunked(RUNS.cursor, (n) => cursorTarget(n, SEED));
    },
    TIMEOUT,
  );

  it(
    "a token that is not genuine is refused with UNAUTHENTICATED, nothing else",
    async () => {
      await tokenTarget(RUNS.token, SEED);
    },
    TIMEOUT,
  );
});
