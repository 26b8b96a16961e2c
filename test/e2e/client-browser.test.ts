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
import { launchChromium, type TestBrowser } from "../helpers/browser.js";
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
    await page.evaluate((query) => {
      type Win = typeof globalThis & {
        StreamgateClient: typeof import("../../src/client/index.js");
        got: string[];
        errs: string[];
        client: import("../../src/client/index.js").Client;
      };
      const w = globalThis as Win;
      w.got = [];
      w.errs = [];
      w.client = w.StreamgateClient.createClient({
        url: `ws://${location.host}/graphql`,
        retryAttempts: Number.POSITIVE_INFINITY,
        backoff: { baseMs: 100, maxMs: 500 },
      });
      w.client.subscribe<{ anyEmployeeUpdated: { id: string } }>(
        { query },
        {
          next: (r) => w.got.push(r.data!.anyEmployeeUpdated.id),
          error: (e) => w.errs.push(e.code),
          complete: () => w.errs.push("complete"),
        },
      );
    }, ANY_SUB);
    const got = () => page.evaluate(() => (globalThis as unknown as { got: string[] }).got);
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
    const state = await page.evaluate(() => {
      const w = globalThis as unknown as { errs: string[]; client: { stats(): { reconnects: number } } };
      return { errs: w.errs, reconnects: w.client.stats().reconnects };
    });
    expect(state.errs).toEqual([]);
    expect(state.reconnects).toBeGreaterThanOrEqual(1);
  });
});
