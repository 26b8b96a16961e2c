/// <reference lib="dom" />
/**
 * PENDING (test/pending/README.md): the lossless resume in a real browser. Chromium loads the
 * router's playground (with the bundled client); the test SIGKILLs the router mid-stream and
 * starts it again while JetStream events keep coming, and checks in the page that nothing was
 * lost or repeated.
 */
import type { Page } from "puppeteer-core";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { launchChromium, type TestBrowser } from "../helpers/browser.js";
import { STREAM_SUB } from "../helpers/client-router.js";
import { numbers, publishNumbered, type ResumeRig, startResumeRig } from "./resume-setup.js";

let rig: ResumeRig;
let chromium: TestBrowser;
let page: Page;
beforeAll(async () => {
  rig = await startResumeRig();
  chromium = await launchChromium();
  page = await chromium.browser.newPage();
  await page.goto(`http://127.0.0.1:${rig.router.port}/`, { waitUntil: "load" });
});
afterAll(async () => {
  await chromium?.close();
  await rig?.close();
});

const N = 150;

describe("lossless resume in Chromium", () => {
  it("the page counts every event exactly once across a router SIGKILL", async () => {
    await page.evaluate((query) => {
      const w = globalThis as unknown as {
        StreamgateClient: typeof import("../../src/client/index.js");
        got: string[];
        errs: string[];
        client: import("../../src/client/index.js").Client;
      };
      w.got = [];
      w.errs = [];
      w.client = w.StreamgateClient.createClient({
        url: `ws://${location.host}/graphql`,
        retryAttempts: Number.POSITIVE_INFINITY,
        backoff: { baseMs: 100, maxMs: 500 },
      });
      w.client.subscribe<{ streamEmployeeUpdated: { id: string } }>(
        { query },
        {
          next: (r) => w.got.push(r.data!.streamEmployeeUpdated.id),
          error: (e) => w.errs.push(e.code),
          complete: () => w.errs.push("complete"),
        },
      );
    }, STREAM_SUB);
    const got = () => page.evaluate(() => (globalThis as unknown as { got: string[] }).got);
    await vi.waitFor(
      async () => {
        if (!(await got()).includes("0")) await rig.publish("0");
        expect(await got()).toContain("0");
      },
      { timeout: 15_000, interval: 300 },
    );
    await publishNumbered(rig, N, 15, async (published) => {
      await vi.waitFor(() => expect(published()).toBeGreaterThan(N / 4), { timeout: 20_000 });
      await rig.router.restart();
    });
    await vi.waitFor(
      async () => expect((await got()).filter((id) => id !== "0").length).toBeGreaterThanOrEqual(N),
      {
        timeout: 30_000,
      },
    );
    const state = await page.evaluate(() => {
      const w = globalThis as unknown as {
        got: string[];
        errs: string[];
        client: { stats(): { resumes: number } };
      };
      return { got: w.got.filter((id) => id !== "0"), errs: w.errs, resumes: w.client.stats().resumes };
    });
    expect(state.got).toEqual(numbers(N));
    expect(state.errs).toEqual([]);
    expect(state.resumes).toBeGreaterThanOrEqual(1);
  });
});
