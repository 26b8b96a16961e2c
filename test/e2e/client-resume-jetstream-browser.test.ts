/// <reference lib="dom" />
/**
 * The lossless resume in a real browser (issue 12). Chromium loads the
 * router's playground (with the bundled client); the test SIGKILLs the router mid-stream and
 * starts it again while JetStream events keep coming, and checks in the page that nothing was
 * lost or repeated.
 */
import type { Page } from "puppeteer-core";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { launchChromium, subscribeInPage, type TestBrowser } from "../helpers/browser.js";
import { STREAM_SUB } from "../helpers/client-router.js";
import { numbers, publishNumbered, type ResumeRig, startResumeRig } from "../helpers/jetstream-resume.js";

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
    const sub = await subscribeInPage(page, STREAM_SUB, "streamEmployeeUpdated");
    const got = sub.got;
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
    const state = await sub.state();
    state.got = state.got.filter((id) => id !== "0");
    expect(state.got).toEqual(numbers(N));
    expect(state.errs).toEqual([]);
    expect(state.stats.resumes).toBeGreaterThanOrEqual(1);
  }, 90_000);
});
