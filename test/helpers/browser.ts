/**
 * Headless Chromium for browser tests: Debian's `chromium` package (installed by the global set-up
 * when missing) driven by puppeteer-core. Never a downloaded browser. The flags keep Chromium off
 * the network this machine does not have, and a fresh profile keeps runs apart.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import puppeteer, { type Browser } from "puppeteer-core";
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
