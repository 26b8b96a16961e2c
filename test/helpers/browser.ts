/// <reference lib="dom" />
/**
 * Headless Chromium for browser tests: Debian's `chromium` package (installed by the global set-up
 * when missing) driven by puppeteer-core. Never a downloaded browser. The flags keep Chromium off
 * the network this machine does not have, and a fresh profile keeps runs apart.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { expect, vi } from "vitest";
import { ensureBinary } from "./brokers/ensure.js";

export interface TestBrowser {
  readonly browser: Browser;
  close(): Promise<void>;
}

export async function launchChromium(): Promise<TestBrowser> {
  const executablePath = await ensureBinary("chromium", "chromium");
  const profile = await mkdtemp(join(tmpdir(), "streamgate-chromium-"));
  const browser = await puppeteer.launch({
    executablePath,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      `--user-data-dir=${profile}`,
    ],
  });
  return {
    browser,
    async close() {
      await browser.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** What a page-side subscription saw: ids of the root field's entity, error codes, the client's stats. */
export interface PageSubscription {
  got(): Promise<string[]>;
  state(): Promise<{ got: string[]; errs: string[]; stats: { reconnects: number; resumes: number } }>;
}

/**
 * Starts, inside `page`, a subscription on the page's bundled client (`StreamgateClient`, the
 * playground inlines it) to `url` (default: the router that served the page), collecting
 * `data[field].id`.
 */
export async function subscribeInPage(
  page: Page,
  query: string,
  field: string,
  url?: string,
): Promise<PageSubscription> {
  await page.evaluate(
    (query, field, url) => {
      const w = globalThis as unknown as {
        StreamgateClient: typeof import("../../src/client/index.js");
        got: string[];
        errs: string[];
        client: import("../../src/client/index.js").Client;
      };
      w.got = [];
      w.errs = [];
      w.client = w.StreamgateClient.createClient({
        url: url ?? `ws://${location.host}/graphql`,
        retryAttempts: Number.POSITIVE_INFINITY,
        backoff: { baseMs: 100, maxMs: 500 },
      });
      w.client.subscribe<Record<string, { id: string }>>(
        { query },
        {
          next: (r) => w.got.push(r.data![field]!.id),
          error: (e) => w.errs.push(e.code),
          complete: () => w.errs.push("complete"),
        },
      );
    },
    query,
    field,
    url,
  );
  type Win = { got: string[]; errs: string[]; client: { stats(): { reconnects: number; resumes: number } } };
  return {
    got: () => page.evaluate(() => (globalThis as unknown as Win).got),
    state: () =>
      page.evaluate(() => {
        const w = globalThis as unknown as Win;
        return { got: w.got, errs: w.errs, stats: w.client.stats() };
      }),
  };
}

/**
 * Replaces the text of the playground's (GraphiQL's) query editor with `text`, as one edit (no
 * bracket auto-closing per keystroke), and checks it took, trying again if not: on a busy machine
 * the editor may not hold the focus yet when first clicked. `text` is one line.
 */
export async function setQueryEditor(page: Page, text: string): Promise<void> {
  const lines = ".graphiql-query-editor .view-lines";
  const read = () => page.$eval(lines, (e) => (e.textContent ?? "").replace(/\s+/g, " ").trim());
  await vi.waitFor(
    async () => {
      // A background page gets no focus events; bring it forward, then put the caret in Monaco's
      // input (its textarea) so the keys below reach the editor, not the page.
      await page.bringToFront();
      await page.click(lines);
      await page.focus(".graphiql-query-editor textarea");
      await page.keyboard.down("Control");
      await page.keyboard.press("a");
      await page.keyboard.up("Control");
      await page.keyboard.sendCharacter(text);
      expect(await read()).toBe(text.replace(/\s+/g, " ").trim());
    },
    { timeout: 20_000, interval: 300 },
  );
}
