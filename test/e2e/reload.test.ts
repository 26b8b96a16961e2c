/**
 * Reload without dropping clients (contract.md, "Reload"), end to end on a real nats-server: 1,000
 * subscriptions keep running across a SIGHUP whose schema change keeps their fields (none closed,
 * no event lost); a field that is removed ends only its subscriptions with SCHEMA_RELOADED; an
 * invalid config changes nothing; a provider whose settings change is replaced alone;
 * watch_config reloads on a file change.
 */
import { rename, writeFile } from "node:fs/promises";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type NatsServer, startNats } from "../helpers/brokers/nats.js";
import { type RawSocket, rawSocket } from "../helpers/clients.js";
import { readMetric, type RunningRouter, startRouterProcess, tempFiles } from "../helpers/router.js";

const TYPES = `
type Employee @key(fields: "id", resolvable: false) { id: ID! @external }
`;
const SDL_V1 = `
type Subscription {
  ticks: Employee! @edfs__natsSubscribe(subjects: ["ticks"])
  doomed: Employee! @edfs__natsSubscribe(subjects: ["doomed"])
  other: Employee! @edfs__natsSubscribe(subjects: ["other"], providerId: "second")
}
${TYPES}`;
// Keeps ticks and other as they were, removes doomed, adds fresh.
const SDL_V2 = `
type Subscription {
  ticks: Employee! @edfs__natsSubscribe(subjects: ["ticks"])
  fresh: Employee! @edfs__natsSubscribe(subjects: ["fresh"])
  other: Employee! @edfs__natsSubscribe(subjects: ["other"], providerId: "second")
}
${TYPES}`;

function config(natsUrl: string, secondUrl: string, extra = ""): string {
  return `listen_addr: 127.0.0.1:0
shutdown_grace_period: 2s
watch_config: true
subgraphs:
  - name: events
    schema_file: ./events.graphql
events:
  providers:
    nats:
      - id: default
        url: ${natsUrl}
      - id: second
        url: ${secondUrl}
${extra}`;
}

let nats: NatsServer;
let nc: NatsConnection;
let dir: string;
let router: RunningRouter;
const enc = new TextEncoder();

beforeAll(async () => {
  nats = await startNats();
  nc = await connect({ servers: nats.url });
  dir = await tempFiles({ "events.graphql": SDL_V1, "config.yaml": config(nats.url, nats.url) });
  router = await startRouterProcess(["--config", `${dir}/config.yaml`]);
});

afterAll(async () => {
  await nc?.close();
  const code = await router?.stop();
  await nats?.stop();
  expect(code).toBe(0);
});

const nexts = (raw: RawSocket, id?: string) =>
  raw.frames.filter((f) => f.type === "next" && (id === undefined || f.id === id));
const errorsOf = (raw: RawSocket) =>
  raw.frames.filter((f) => f.type === "error") as {
    id: string;
    payload: { extensions: { code: string } }[];
  }[];

/** A socket with `n` subscriptions to `field` (ids `${field}-<i>`). */
async function subscriber(field: string, n: number): Promise<RawSocket> {
  const raw = await rawSocket(`${router.ws}/graphql`);
  raw.send({ type: "connection_init" });
  await vi.waitFor(() => expect(raw.frames[0]).toEqual({ type: "connection_ack" }));
  for (let i = 0; i < n; i++)
    raw.send({
      id: `${field}-${i}`,
      type: "subscribe",
      payload: { query: `subscription { ${field} { id } }` },
    });
  return raw;
}

const reloadLines = () =>
  router.logs.filter((l) => /configuration reloaded|reload refused/.test(String(l.msg))).length;

const startedLines = () => router.logs.filter((l) => l.msg === "reloading configuration").length;

/**
 * Waits until every reload that started has ended and none has started or ended for a second (file
 * watchers may fire more than once; a reload reads the file in a child process, which takes a
 * while on a loaded machine).
 */
async function quiet(): Promise<void> {
  let n = reloadLines();
  for (;;) {
    await new Promise((r) => setTimeout(r, 1000));
    const now = reloadLines();
    if (now === n && startedLines() === now) return;
    n = now;
  }
}

/**
 * The outcome of the reloads a change caused: waits for one, then for the watchers to settle, and
 * returns the last. A file written in place can be read half-written: that read is refused and the
 * complete file is reloaded after it.
 */
async function settledReload(before: number): Promise<Record<string, unknown>> {
  await nextReload(before);
  await quiet();
  return router.logs
    .slice(before)
    .findLast((l) => /configuration reloaded|reload refused/.test(String(l.msg)))!;
}

/** Replaces `path` the way editors and Kubernetes ConfigMaps do: a new file renamed over it. */
async function replaceFile(path: string, text: string): Promise<void> {
  await writeFile(`${path}.next`, text);
  await rename(`${path}.next`, path);
}

/** Waits for the router's log line of the next reload (ok or refused). */
async function nextReload(before: number): Promise<Record<string, unknown>> {
  await vi.waitFor(
    () =>
      expect(
        router.logs.slice(before).some((l) => /configuration reloaded|reload refused/.test(String(l.msg))),
      ).toBe(true),
    { timeout: 15_000, interval: 50 },
  );
  return router.logs.slice(before).find((l) => /configuration reloaded|reload refused/.test(String(l.msg)))!;
}

describe("reload", () => {
  it("keeps 1,000 subscriptions running across a schema change that keeps their field: none closed, no event lost", async () => {
    const sockets = await Promise.all(Array.from({ length: 10 }, () => subscriber("ticks", 100)));
    const doomed = await subscriber("doomed", 3);
    const warm = () => nc.publish("ticks", enc.encode('{"__typename":"Employee","id":"warm"}'));
    await vi.waitFor(
      () => {
        warm();
        for (const s of sockets) expect(new Set(nexts(s).map((f) => f.id)).size).toBe(100);
      },
      { timeout: 10_000, interval: 200 },
    );
    await new Promise((r) => setTimeout(r, 500)); // the last warm-up events land
    const base = sockets.map((s) => nexts(s).length);
    // Events before, during and after the reload.
    let sent = 0;
    const pub = setInterval(() => {
      nc.publish("ticks", enc.encode(`{"__typename":"Employee","id":"${sent++}"}`));
    }, 2);
    await new Promise((r) => setTimeout(r, 200));
    const logs = router.logs.length;
    await writeFile(`${dir}/events.graphql`, SDL_V2); // watch_config picks this up
    process.kill(router.process.pid!, "SIGHUP"); // and SIGHUP too: the two coalesce or run in turn
    const outcome = await settledReload(logs);
    expect(outcome.msg).toBe("configuration reloaded");
    await new Promise((r) => setTimeout(r, 300));
    clearInterval(pub);
    await nc.flush();
    await vi.waitFor(
      () => expect(sockets.map((s) => nexts(s).length)).toEqual(base.map((b) => b + sent * 100)),
      { timeout: 10_000 },
    );
    for (const s of sockets) {
      expect(s.closed).toBeUndefined();
      expect(errorsOf(s)).toEqual([]);
    }
    // The removed field's subscriptions ended with SCHEMA_RELOADED; the socket stays open.
    expect(errorsOf(doomed).map((e) => [e.id, e.payload[0]!.extensions.code])).toEqual([
      ["doomed-0", "SG_ERR_SCHEMA_RELOADED"],
      ["doomed-1", "SG_ERR_SCHEMA_RELOADED"],
      ["doomed-2", "SG_ERR_SCHEMA_RELOADED"],
    ]);
    expect(doomed.closed).toBeUndefined();
    // The new field serves at once.
    const fresh = await subscriber("fresh", 1);
    await vi.waitFor(
      () => {
        nc.publish("fresh", enc.encode('{"__typename":"Employee","id":"f"}'));
        expect(nexts(fresh).length).toBeGreaterThan(0);
      },
      { timeout: 5000, interval: 100 },
    );
    for (const s of [...sockets, doomed, fresh]) s.ws.close();
  });

  it("refuses an invalid schema or config: nothing changes, every problem logged", async () => {
    await quiet();
    const raw = await subscriber("ticks", 1);
    await vi.waitFor(
      () => {
        nc.publish("ticks", enc.encode('{"__typename":"Employee","id":"x"}'));
        expect(nexts(raw).length).toBeGreaterThan(0);
      },
      { timeout: 5000, interval: 100 },
    );
    let logs = router.logs.length;
    await writeFile(`${dir}/events.graphql`, "type Subscription { broken: Nope! }");
    const refused = await settledReload(logs);
    expect(refused.msg).toBe("reload refused: nothing changed");
    expect(JSON.stringify(refused.problems)).toMatch(/Nope/);
    logs = router.logs.length;
    await writeFile(`${dir}/config.yaml`, `${config(nats.url, nats.url)}listen_addrr: nope\n`);
    const refused2 = await settledReload(logs);
    expect(JSON.stringify(refused2.problems)).toMatch(/listen_addrr/);
    // Still serving the old schema and its subscriptions.
    const before = nexts(raw).length;
    nc.publish("ticks", enc.encode('{"__typename":"Employee","id":"y"}'));
    await vi.waitFor(() => expect(nexts(raw).length).toBe(before + 1));
    expect(errorsOf(raw)).toEqual([]);
    await writeFile(`${dir}/events.graphql`, SDL_V2);
    await writeFile(`${dir}/config.yaml`, config(nats.url, nats.url));
    await quiet();
    raw.ws.close();
  });

  it("replaces only the provider whose settings changed", async () => {
    await quiet();
    const ticks = await subscriber("ticks", 1);
    const other = await subscriber("other", 1);
    await vi.waitFor(
      () => {
        nc.publish("ticks", enc.encode('{"__typename":"Employee","id":"a"}'));
        nc.publish("other", enc.encode('{"__typename":"Employee","id":"b"}'));
        expect(nexts(ticks).length).toBeGreaterThan(0);
        expect(nexts(other).length).toBeGreaterThan(0);
      },
      { timeout: 5000, interval: 100 },
    );
    const logs = router.logs.length;
    // Same server, another spelling of its address: a changed provider config.
    // Replaced by a rename (a new inode): the watch is on the folder, so it is seen.
    await replaceFile(`${dir}/config.yaml`, config(nats.url, nats.url.replace("127.0.0.1", "localhost")));
    const outcome = await settledReload(logs);
    expect(outcome).toMatchObject({ msg: "configuration reloaded", providersReplaced: ["second"] });
    expect(errorsOf(other).map((e) => e.payload[0]!.extensions.code)).toEqual(["SG_ERR_SCHEMA_RELOADED"]);
    expect(errorsOf(ticks)).toEqual([]);
    // The replaced provider serves new subscriptions.
    const again = await subscriber("other", 1);
    await vi.waitFor(
      () => {
        nc.publish("other", enc.encode('{"__typename":"Employee","id":"c"}'));
        expect(nexts(again).length).toBeGreaterThan(0);
      },
      { timeout: 5000, interval: 100 },
    );
    expect(await readMetric(router.http, "streamgate_subscriptions")).toBe(2);
    for (const s of [ticks, other, again]) s.ws.close();
  });
});

describe("reload with worker threads", () => {
  it("every worker applies the new schema; subscriptions on both go on", async () => {
    const d = await tempFiles({
      "events.graphql": SDL_V1,
      "config.yaml": `${config(nats.url, nats.url)}workers: 2\n`,
    });
    const r = await startRouterProcess(["--config", `${d}/config.yaml`]);
    try {
      const open = async (field: string) => {
        const raw = await rawSocket(`${r.ws}/graphql`);
        raw.send({ type: "connection_init" });
        await vi.waitFor(() => expect(raw.frames[0]).toEqual({ type: "connection_ack" }));
        raw.send({ id: "1", type: "subscribe", payload: { query: `subscription { ${field} { id } }` } });
        return raw;
      };
      // Enough sockets that both workers hold some (the kernel spreads them).
      const olds = await Promise.all(Array.from({ length: 8 }, () => open("ticks")));
      await vi.waitFor(
        () => {
          nc.publish("ticks", enc.encode('{"__typename":"Employee","id":"w"}'));
          for (const s of olds) expect(nexts(s).length).toBeGreaterThan(0);
        },
        { timeout: 10_000, interval: 200 },
      );
      const before = r.logs.length;
      await writeFile(`${d}/events.graphql`, SDL_V2);
      await vi.waitFor(
        () => expect(r.logs.slice(before).some((l) => l.msg === "configuration reloaded")).toBe(true),
        { timeout: 15_000 },
      );
      const outcome = r.logs.slice(before).find((l) => l.msg === "configuration reloaded")!;
      expect((outcome.workers as unknown[]).length).toBe(2);
      const news = await Promise.all(Array.from({ length: 8 }, () => open("fresh")));
      await vi.waitFor(
        () => {
          nc.publish("fresh", enc.encode('{"__typename":"Employee","id":"n"}'));
          nc.publish("ticks", enc.encode('{"__typename":"Employee","id":"o"}'));
          for (const s of news) expect(nexts(s).length).toBeGreaterThan(0);
          for (const s of olds) expect(nexts(s).some((f) => JSON.stringify(f).includes('"o"'))).toBe(true);
        },
        { timeout: 10_000, interval: 200 },
      );
      for (const s of [...olds, ...news]) expect([s.closed, errorsOf(s)]).toEqual([undefined, []]);
    } finally {
      expect(await r.stop()).toBe(0);
    }
  });
});
