/// <reference lib="dom" />
/**
 * A real browser: headless Chromium (Debian's package, puppeteer-core) loads the router's
 * playground (GraphiQL), whose subscriptions run on `streamgate/client`, bundled into the page.
 * The test runs a subscription from the playground's own UI, then drives the client from the page
 * while the router is SIGKILLed and restarted on the same port: the page's client comes back by
 * itself; then, on an at-least-once router, the network under the page is cut twice mid-stream
 * and the page counts every event exactly once, in order. (The SIGKILL version needs a broker
 * that outlives the router: JetStream, client-resume-jetstream-browser.test.ts.)
 */
import type { Page } from "puppeteer-core";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { launchChromium, setQueryEditor, subscribeInPage, type TestBrowser } from "../helpers/browser.js";
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
    // The playground is GraphiQL: replace its editor's text with the subscription and run it.
    await setQueryEditor(page, ANY_SUB);
    await page.click(".graphiql-execute-button");
    const response = () =>
      page.evaluate(() =>
        (document.querySelector(".graphiql-response")?.textContent ?? "").replace(/\s+/g, " "),
      );
    await vi.waitFor(
      async () => {
        await publish(router.http, "p1");
        expect(await response()).toContain('"id": "p1"');
      },
      { timeout: 10_000, interval: 300 },
    );
    // GraphiQL's subscription ran on the playground's streamgate/client, not a client of its own.
    const stats = await page.evaluate(
      () =>
        (
          globalThis as unknown as {
            StreamgatePlayground: { client: { stats(): { eventsReceived: number } } };
          }
        ).StreamgatePlayground.client.stats().eventsReceived,
    );
    expect(stats).toBeGreaterThanOrEqual(1);
  }, 60_000); // GraphiQL (5 MB of script and Monaco's workers) on a busy 2-core machine

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
          // The second cut only once the first was resumed from: an open socket through the link
          // is not yet a resumed subscription, and a cut in between makes one resume of two cuts.
          if (i === 60)
            await vi.waitFor(
              async () => expect((await sub.state()).stats.resumes).toBeGreaterThanOrEqual(1),
              {
                timeout: 10_000,
                interval: 20,
              },
            );
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
