/**
 * A router whose open-file limit is lower than limits.max_connections admits only what the limit
 * can hold and refuses the rest with 503, and stays healthy. Without the cap it ran out of
 * descriptors, could not accept even to refuse, spun in its accept loop and stopped answering
 * /health/ready (`npm run bench -- ceiling`). Run under `prlimit` with 320 descriptors: the cap is
 * 320 - 256 (the reserve) = 64.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { type RunningRouter, startRouterProcess } from "../helpers/router.js";

let router: RunningRouter;
let port = 0;

beforeAll(async () => {
  router = await startRouterProcess(["--listen-addr", "127.0.0.1:0"], {}, ["prlimit", "--nofile=320:320"]);
  port = router.port;
});

afterAll(async () => {
  await router?.stop("SIGKILL");
});

function connect(): Promise<{ ws?: WebSocket; status?: number }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/graphql`, "graphql-transport-ws");
    ws.on("open", () => resolve({ ws }));
    ws.on("unexpected-response", (_req, res) => resolve({ status: res.statusCode }));
    ws.on("error", () => resolve({}));
  });
}

describe("open-file limit below max_connections", () => {
  it("says so at start, admits what the limit holds, refuses the rest with 503 and stays healthy", async () => {
    await new Promise((r) => setTimeout(r, 300)); // the warning follows the listening line
    expect(router.logs.find((l) => String(l.msg).includes("are refused with 503"))).toMatchObject({
      open_files_limit: { soft: 320, hard: 320 },
    });
    const outcomes = await Promise.all(Array.from({ length: 100 }, () => connect()));
    const open = outcomes.filter((o) => o.ws);
    expect(open.length).toBe(64);
    expect(outcomes.filter((o) => o.status === 503).length).toBe(36);
    const ready = await fetch(`http://127.0.0.1:${port}/health/ready`);
    expect(ready.status).toBe(200);
    for (const o of open) o.ws!.close();
    // Room again once clients leave.
    await new Promise((r) => setTimeout(r, 500));
    const again = await connect();
    expect(again.ws).toBeDefined();
    again.ws!.close();
    expect(router.process.exitCode).toBeNull();
  });
});
