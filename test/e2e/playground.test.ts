/**
 * The playground as a person uses it, in headless Chromium (Debian's, through puppeteer-core): the
 * demo's subscription runs in one browser tab, its mutation in another, and the event arrives with
 * the name just published; the editor completes fields from the router's introspection.
 */
import { getIntrospectionQuery } from "graphql";
import type { Page } from "puppeteer-core";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { launchChromium, setQueryEditor, type TestBrowser } from "../helpers/browser.js";
import { postGraphql } from "../helpers/clients.js";
import { type RunningRouter, startRouterProcess, tempFiles } from "../helpers/router.js";

let router: RunningRouter;
let chromium: TestBrowser;
beforeAll(async () => {
  [router, chromium] = await Promise.all([
    startRouterProcess(["--listen-addr", "127.0.0.1:0"]),
    launchChromium(),
  ]);
});
afterAll(async () => {
  await chromium?.close();
  await router?.stop();
});

/** Monaco renders spaces as U+00A0 and lines without newlines; compare on collapsed text. */
const text = (page: Page, selector: string) =>
  page.$eval(selector, (e) => (e.textContent ?? "").replace(/\s+/g, " "));

// A browser loading a 5 MB bundle on a busy 2-core machine: seconds, not milliseconds.
const BROWSER_TEST = 60_000;

async function openPlayground(): Promise<Page> {
  const page = await chromium.browser.newPage();
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push((e as Error).message));
  await page.setViewport({ width: 1400, height: 900 });
  await page.goto(`${router.http}/`, { waitUntil: "networkidle0" });
  await page.waitForSelector(".graphiql-tab .graphiql-tab-button");
  expect(errors).toEqual([]);
  return page;
}

describe("the playground (GraphiQL) in headless Chromium", () => {
  it("is a small page; its bundle is hashed, cached for good and served gzipped, from disk", async () => {
    const res = await fetch(`${router.http}/`);
    const html = await res.text();
    expect(res.headers.get("cache-control")).toBe("no-cache");
    expect(html.length).toBeLessThan(4096);
    expect(html).toContain('"graphqlPath":"/graphql"');
    const script = /src="(\/playground\/playground-[A-Z0-9]{8}\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    const js = await fetch(`${router.http}${script}`);
    expect(js.status).toBe(200);
    expect(js.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(js.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(js.headers.get("content-encoding")).toBe("gzip"); // fetch asks for gzip and decodes it
    expect((await js.text()).length).toBeGreaterThan(1_000_000);
  });

  it("refuses paths outside the bundle and unknown files", async () => {
    for (const path of [
      "/playground/..%2Fpackage.json",
      "/playground/index.html",
      "/playground/%2E%2E%2F%2E%2E%2Fcli.js",
      "/playground/nothing-ABCDEFGH.js",
      "/playground/",
    ]) {
      const res = await fetch(`${router.http}${path}`);
      expect([path, res.status]).toEqual([path, 404]);
    }
    expect((await fetch(`${router.http}/health/ready`)).status).toBe(200);
  });

  it("answers introspection, which GraphiQL's completion and docs are built from", async () => {
    const res = await postGraphql(router.http, { query: getIntrospectionQuery() });
    const types = (res.body as { data: { __schema: { types: { name: string }[] } } }).data.__schema.types;
    expect(types.map((t) => t.name)).toEqual(
      expect.arrayContaining(["Employee", "Department", "Subscription"]),
    );
  });

  it(
    "runs the demo subscription in one tab and the mutation in another; the event shows the name just published",
    async () => {
      const listen = await openPlayground();
      const tabs = await listen.$$eval(".graphiql-tab-button", (b) => b.map((e) => e.textContent));
      expect(tabs).toEqual(["OnEmployeeUpdated", "UpdateEmployee"]);
      // Running, the button turns into "Stop" (GraphiQL may ignore a click before its editor is up).
      await vi.waitFor(
        async () => {
          if (!(await listen.$('.graphiql-execute-button[aria-label^="Stop"]')))
            await listen.click(".graphiql-execute-button");
          await listen.waitForSelector('.graphiql-execute-button[aria-label^="Stop"]', { timeout: 1000 });
        },
        { timeout: 10_000, interval: 200 },
      );
      const publish = await openPlayground();
      await publish.click("#graphiql-session-tab-1");
      await vi.waitFor(async () =>
        expect(await text(publish, ".graphiql-query-editor")).toContain("updateEmployee"),
      );
      // The first publish may race the subscription's start; publish until the event shows.
      await vi.waitFor(
        async () => {
          await publish.click(".graphiql-execute-button");
          await vi.waitFor(async () =>
            expect(await text(publish, ".graphiql-response")).toContain('"success": true'),
          );
          // A page renders once it is in front: wait for that frame, not just for the event.
          await listen.bringToFront();
          await vi.waitFor(
            async () => expect(await text(listen, ".graphiql-response")).toContain('"name": "Ada"'),
            { timeout: 3000, interval: 100 },
          );
        },
        { timeout: 15_000, interval: 500 },
      );
      expect(await text(listen, ".graphiql-response")).toContain('"department": { "name": "Engineering" }');
      await listen.close();
      await publish.close();
    },
    BROWSER_TEST,
  );

  it(
    "completes fields from the schema and marks unknown ones",
    async () => {
      const page = await openPlayground();
      await page.click(".graphiql-tab-add");
      await setQueryEditor(page, 'subscription { employeeUpdated(id: "1") {  } }');
      for (let i = 0; i < 4; i++) await page.keyboard.press("ArrowLeft"); // into the inner selection set
      await page.keyboard.down("Control");
      await page.keyboard.press("Space");
      await page.keyboard.up("Control");
      await page.waitForSelector(".suggest-widget.visible .monaco-list-row", { timeout: 10_000 });
      const suggested = await page.$$eval(".suggest-widget.visible .monaco-list-row", (rows) =>
        rows.map((r) => r.getAttribute("aria-label")),
      );
      expect(suggested).toEqual(expect.arrayContaining(["id", "name", "role", "department"]));
      await page.keyboard.press("Escape");
      await page.keyboard.type("nosuchField ");
      await page.waitForSelector(".graphiql-query-editor .squiggly-error", { timeout: 10_000 });
      await page.close();
    },
    BROWSER_TEST,
  );
});

describe("playground: false", () => {
  it("serves no page", async () => {
    const dir = await tempFiles({
      "c.yaml": `listen_addr: 127.0.0.1:0
playground: false
subgraphs: [{ name: events, schema: 'type Subscription { e(id: ID!): E! @edfs__natsSubscribe(subjects: ["e.{{ args.id }}"]) } type E @key(fields: "id", resolvable: false) { id: ID! @external }' }]
events: { providers: { nats: [{ id: default, url: "memory://" }] } }
`,
    });
    const bare = await startRouterProcess(["--config", `${dir}/c.yaml`]);
    try {
      expect((await fetch(`${bare.http}/`)).status).toBe(404);
      expect((await fetch(`${bare.http}/playground/playground-ABCDEFGH.js`)).status).toBe(404);
    } finally {
      await bare.stop();
    }
  });
});
