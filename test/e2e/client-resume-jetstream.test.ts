/**
 * Lossless resume through the real router (issue 12, "How it is verified"). JetStream behind an
 * at-least-once provider; the router is SIGKILLed mid-stream and started again on the same port
 * while events keep being published; the client, doing nothing, gets every event exactly once and
 * in order, over WebSocket and over SSE.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import WebSocket from "ws";
import { type Client, createClient, type ExecutionResult } from "../../src/client/index.js";
import { STREAM_SUB } from "../helpers/client-router.js";
import { numbers, publishNumbered, type ResumeRig, startResumeRig } from "../helpers/jetstream-resume.js";

let rig: ResumeRig;
beforeAll(async () => {
  rig = await startResumeRig();
});
afterAll(async () => {
  await rig?.close();
});

const N = 200;

async function losslessAcrossKill(url: string): Promise<Client> {
  const client = createClient({
    url,
    webSocketImpl: WebSocket,
    retryAttempts: Number.POSITIVE_INFINITY,
    backoff: { baseMs: 100, maxMs: 500 },
  });
  const got: string[] = [];
  const errors: unknown[] = [];
  client.subscribe<{ streamEmployeeUpdated: { id: string } }>(
    { query: STREAM_SUB },
    {
      next: (r: ExecutionResult<{ streamEmployeeUpdated: { id: string } }>) =>
        got.push(r.data!.streamEmployeeUpdated.id),
      error: (e) => errors.push(e),
      complete: () => errors.push("complete"),
    },
  );
  // The subscription is live once a probe arrives; numbered events start after it.
  await vi.waitFor(
    async () => {
      if (!got.includes("0")) await rig.publish("0");
      expect(got).toContain("0");
    },
    { timeout: 15_000, interval: 300 },
  );
  await publishNumbered(rig, N, 15, async (published) => {
    await vi.waitFor(() => expect(published()).toBeGreaterThan(N / 4), { timeout: 20_000 });
    await rig.router.restart(); // SIGKILL, then a new process on the same port
  });
  await vi.waitFor(() => expect(got.filter((id) => id !== "0").length).toBeGreaterThanOrEqual(N), {
    timeout: 30_000,
  });
  expect(got.filter((id) => id !== "0")).toEqual(numbers(N));
  expect(errors).toEqual([]);
  expect(client.stats().resumes).toBeGreaterThanOrEqual(1);
  expect(client.stats().gaps).toBe(0);
  return client;
}

describe("lossless resume across a router SIGKILL (JetStream, at-least-once)", () => {
  it("over WebSocket: every event exactly once, in order", async () => {
    const client = await losslessAcrossKill(rig.router.ws);
    expect(client.stats().transport).toBe("websocket");
    await client.dispose();
  }, 90_000);

  it("over SSE: every event exactly once, in order", async () => {
    const client = await losslessAcrossKill(rig.router.http);
    expect(client.stats().transport).toBe("sse");
    await client.dispose();
  }, 90_000);
});
