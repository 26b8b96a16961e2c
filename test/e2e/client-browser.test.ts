/// <reference lib="dom" />
/**
 * A real browser: headless Chromium (Debian's package, puppeteer-core) loads the router's
 * playground, whose subscriptions run on the inlined browser bundle of `streamgate/client`.
 * The test runs a subscription from the playground's own UI, then drives the bundle from the page
 * while the router is SIGKILLed and restarted on the same port: the page's client comes back by
 * itself. (memory:// has no cursors: the lossless version waits in test/pending/.)
 */
import type { Page } from "puppeteer-core";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { launchChromium, subscribeInPage, type TestBrowser } from "../helpers/browser.js";
import {
  ANY_SUB,
  publish,
  type RestartableRouter,
  startRestartableRouter,
} from "../helpers/client-router.js";

let router: RestartableRouter;
let chromium: TestBrowser;
let page: Page;

beforeAll(async () => {
  router = await startRestartableRouter("    nats:\n      - id: default\n        url: memory://\n");
  chromium = await launchChromium();
  page = await chromium.browser.newPage();
  await page.goto(`http://127.0.0.1:${router.port}/`, { waitUntil: "load" });
});
afterAll(async () => {
  await chromium?.close();
  await router?.stop();
});

describe("streamgate/client in Chromium", () => {
  it("the playground runs a subscription through the bundled client", async () => {
    expect(
      await page.evaluate(() => typeof (globalThis as { StreamgateClient?: unknown }).StreamgateClient),
    ).toBe("object");
    await page.evaluate((query) => {
      const op = document.querySelector("#left textarea.op") as HTMLTextAreaElement;
      op.value = query;
      (document.querySelector("#left button.run") as HTMLButtonElement).click();
    }, ANY_SUB);
    await vi.waitFor(
      async () => {
        await publish(router.http, "p1");
        const log = await page.evaluate(() => document.querySelector("#left .log")?.textContent ?? "");
        expect(log).toContain("next #1");
        expect(log).toContain('"p1"');
      },
      { timeout: 10_000, interval: 300 },
    );
    const log = await page.evaluate(() => document.querySelector("#left .log")?.textContent ?? "");
    expect(log).toContain("connected");
  });

  it("the page's client reconnects by itself after the router is SIGKILLed and restarted", async () => {
    const sub = await subscribeInPage(page, ANY_SUB, "anyEmployeeUpdated");
    const got = sub.got;
    const publishUntil = async (id: string) =>
      vi.waitFor(
        async () => {
          if (!(await got()).includes(id)) await publish(router.http, id);
          expect(await got()).toContain(id);
        },
        { timeout: 15_000, interval: 300 },
      );
    await publishUntil("b1");
    await router.restart();
    await publishUntil("b2");
    const state = await sub.state();
    expect(state.errs).toEqual([]);
    expect(state.stats.reconnects).toBeGreaterThanOrEqual(1);
  });
});
