/// <reference lib="dom" />
/**
 * A real browser: headless Chromium (Debian's package, puppeteer-core) loads the router's
 * playground, whose subscriptions run on the inlined browser bundle of `streamgate/client`.
 * The test runs a subscription from the playground's own UI, then drives the bundle from the page
 * while the router is SIGKILLed and restarted on the same port: the page's client comes back by
 * itself; then, on an at-least-once router, the network under the page is cut twice mid-stream
 * and the page counts every event exactly once, in order. (The SIGKILL version needs a broker
 * that outlives the router: JetStream, client-resume-jetstream-browser.test.ts.)
 */
import type { Page } from "puppeteer-core";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { launchChromium, subscribeInPage, type TestBrowser } from "../helpers/browser.js";
import {
  ANY_SUB,
  publish,
  type RestartableRouter,
  startCuttableLink,
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

  it("on an at-least-once router, the page loses nothing when its connection is cut mid-stream", async () => {
    const durable = await startRestartableRouter(
      "    nats:\n      - id: default\n        url: memory://\n        delivery: at_least_once\n",
      "delivery:\n  cursor_secret: client-browser-test-secret-0123456789abcdef\n",
    );
    const link = await startCuttableLink(durable.port);
    try {
      const page2 = await chromium.browser.newPage();
      await page2.goto(`http://127.0.0.1:${durable.port}/`, { waitUntil: "load" });
      const sub = await subscribeInPage(page2, ANY_SUB, "anyEmployeeUpdated", link.ws);
      await vi.waitFor(
        async () => {
          if (!(await sub.got()).includes("probe")) await publish(durable.http, "probe");
          expect(await sub.got()).toContain("probe");
        },
        { timeout: 10_000, interval: 200 },
      );
      const N = 90;
      for (let i = 1; i <= N; i++) {
        expect(await publish(durable.http, `n${i}`)).toBe(true);
        if (i === 30 || i === 60) {
          await vi.waitFor(() => expect(link.open()).toBeGreaterThan(0), { timeout: 10_000, interval: 20 });
          expect(link.cut()).toBeGreaterThan(0);
        }
      }
      await vi.waitFor(async () => expect((await sub.got()).length).toBeGreaterThanOrEqual(N + 1), {
        timeout: 20_000,
      });
      const state = await sub.state();
      expect(state.got.filter((id) => id !== "probe")).toEqual(
        Array.from({ length: N }, (_, i) => `n${i + 1}`),
      );
      expect(state.errs).toEqual([]);
      expect(state.stats.resumes).toBeGreaterThanOrEqual(2);
      await page2.close();
    } finally {
      await link.close();
      await durable.stop();
    }
  }, 60_000);
});
