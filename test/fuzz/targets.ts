/**
 * The fuzz targets (issue 9, "Make it a property"): each runs `runs` fast-check cases of one kind
 * of hostile input through the real code and checks that nothing throws, nothing hangs, and the
 * component keeps its invariants. `fuzz.test.ts` runs a slice of each in `npm test`;
 * `npm run fuzz` runs them at full size (FUZZ=full).
 */
import { connect as tcp } from "node:net";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { parse as parseYaml } from "yaml";
import { configFromObject, loadConfigFile } from "../../src/config/loader.js";
import type { OperationSink } from "../../src/engine/types.js";
import { Engine } from "../../src/engine/engine.js";
import { StreamgateError } from "../../src/errors.js";
import type { Logger } from "../../src/observability/logger.js";
import { MAX_PARSE_REASON_BYTES } from "../../src/protocol/common.js";
import { parseClientMessage } from "../../src/protocol/graphql-transport-ws.js";
import { parseLegacyClientMessage } from "../../src/protocol/graphql-ws-legacy.js";
import { createProviders } from "../../src/providers/factory.js";
import { loadSupergraph } from "../../src/schema/supergraph.js";
import { LegacyWsSession } from "../../src/session/legacy-ws.js";
import type { SessionDeps, SessionSocket, Timers } from "../../src/session/socket.js";
import { anonymous } from "../../src/engine/types.js";
import { TransportWsSession } from "../../src/session/transport-ws.js";
import { HOSTILE_SDL } from "../helpers/hostile.js";
import {
  document,
  eventBytes,
  frame,
  type HttpCase,
  httpRequest,
  operationName,
  variables,
  yamlText,
} from "./arbitraries.js";

/** Cases run so far, per target (the fuzz report). */
export const counts = new Map<string, number>();
const count = (target: string): void => {
  counts.set(target, (counts.get(target) ?? 0) + 1);
};

/** A case slower than this is a hang. */
const HANG_MS = 2000;
function timed<T>(target: string, fn: () => T): T {
  count(target);
  const t0 = performance.now();
  const out = fn();
  const ms = performance.now() - t0;
  if (ms > HANG_MS) throw new Error(`${target}: one case took ${Math.round(ms)} ms`);
  return out;
}

const utf8Bytes = (s: string): number => new TextEncoder().encode(s).length;

export function protocolTarget(legacy: boolean, runs: number, seed?: number): void {
  const name = legacy ? "protocol:graphql-ws" : "protocol:graphql-transport-ws";
  const parse = legacy ? parseLegacyClientMessage : parseClientMessage;
  fc.assert(
    fc.property(frame(legacy), (f) =>
      timed(name, () => {
        const r = parse(f);
        if (!r.ok && utf8Bytes(r.reason) > MAX_PARSE_REASON_BYTES)
          throw new Error(`reason too long: ${r.reason}`);
      }),
    ),
    { numRuns: runs, ...(seed === undefined ? {} : { seed }) },
  );
}

const CLOSE_CODES = new Set([1000, 1001, 4400, 4401, 4408, 4409, 4429]);

class RecordingSocket implements SessionSocket {
  closed: number | undefined;
  violation: string | undefined;
  send(frame: string): void {
    if (this.closed !== undefined) this.violation = "send after close";
    JSON.parse(frame);
  }
  sendSpliced(prefix: string, body: string, suffix: string): void {
    this.send(prefix + body + suffix);
  }
  close(code: number): void {
    if (this.closed !== undefined) this.violation = "closed twice";
    if (!CLOSE_CODES.has(code)) this.violation = `unexpected close code ${code}`;
    this.closed = code;
  }
}

const noTimers: Timers = {
  setTimeout: () => 0,
  clearTimeout: () => {},
  setInterval: () => 0,
  clearInterval: () => {},
};

/** Random frame sequences through a session state machine with an engine that errs, holds or answers. */
export function sessionTarget(legacy: boolean, runs: number, seed?: number): void {
  const name = legacy ? "session:graphql-ws" : "session:graphql-transport-ws";
  const MAX = 3;
  fc.assert(
    fc.property(
      fc.array(fc.tuple(frame(legacy), fc.constantFrom("hold", "error", "answer", "throw-free-complete")), {
        maxLength: 12,
      }),
      (steps) =>
        timed(name, () => {
          const socket = new RecordingSocket();
          const live = new Set<{ cancelled: boolean }>();
          let mode = "hold";
          const engine = {
            execute(_req: unknown, sink: OperationSink) {
              const op = { cancelled: false };
              live.add(op);
              if (mode === "error") sink.error([{ message: "bad" }]);
              if (mode === "answer") {
                sink.next('{"data":{}}');
                sink.complete();
              }
              if (mode === "throw-free-complete") sink.complete();
              return {
                cancel: () => {
                  op.cancelled = true;
                  live.delete(op);
                },
              };
            },
          };
          const deps: SessionDeps = {
            engine,
            limits: { connectionInitTimeoutMs: 1000, maxSubscriptions: MAX },
            timers: noTimers,
            keepAliveMs: 1000,
          };
          const session = legacy
            ? new LegacyWsSession(socket, deps, anonymous())
            : new TransportWsSession(socket, deps, anonymous());
          for (const [f, m] of steps) {
            mode = m;
            session.onMessage(f);
            if (session.operationCount > MAX) throw new Error("more operations than the limit");
          }
          session.onClosed();
          if (socket.violation) throw new Error(socket.violation);
          if (session.operationCount !== 0) throw new Error("operations left after close");
        }),
    ),
    { numRuns: runs, ...(seed === undefined ? {} : { seed }) },
  );
}

/** A logger that remembers errors (the engine logs fan-out failures as errors: bugs). */
export function recordingLogger(errors: string[]): Logger {
  const logger = {
    error: (o: unknown, msg?: string) => errors.push(`${msg ?? ""} ${JSON.stringify(o)}`),
    warn: () => {},
    info: () => {},
    debug: () => {},
    trace: () => {},
    fatal: (o: unknown, msg?: string) => errors.push(`${msg ?? ""} ${JSON.stringify(o)}`),
    child: () => logger,
  };
  return logger as unknown as Logger;
}

export interface FuzzEngine {
  readonly engine: Engine;
  readonly errors: string[];
  publish(topic: string, bytes: Uint8Array): Promise<void>;
}

/** An engine on the hostile schema over the embedded broker, with small limits. */
export async function fuzzEngine(): Promise<FuzzEngine> {
  const supergraph = await loadSupergraph([{ name: "events", schema: HOSTILE_SDL }]);
  const providers = await createProviders(
    {
      skip_unavailable_providers: false,
      providers: { nats: [{ id: "default", url: "memory://" }], kafka: [], redis: [] },
    },
    "fuzz",
  );
  for (const p of providers.values()) await p.start();
  const errors: string[] = [];
  const engine = new Engine(
    supergraph,
    providers,
    {
      requestTimeoutMs: 50,
      subgraphTimeoutMs: 50,
      maxDocumentSize: 4096,
      maxTopics: 20,
      operationLimits: { maxDepth: 8, maxAliases: 5, maxRootFields: 3 },
    },
    recordingLogger(errors),
  );
  const nats = providers.get("default")!;
  return { engine, errors, publish: (t, b) => nats.publish(t, b) };
}

/** Random documents and variables through planning, argument coercion, template rendering and subscribe. */
export async function operationTarget(rig: FuzzEngine, runs: number, seed?: number): Promise<void> {
  const { engine } = rig;
  fc.assert(
    fc.property(document, variables, operationName, (query, vars, opName) =>
      timed("operation", () => {
        let terminal = 0;
        const sink: OperationSink = {
          next: (json) => {
            JSON.parse(json);
          },
          error: (errors) => {
            terminal++;
            for (const e of errors)
              if (typeof e.message !== "string") throw new Error("error without message");
          },
          complete: () => {
            terminal++;
          },
        };
        const running = engine.execute(
          {
            query,
            variables: vars as Record<string, unknown> | null | undefined,
            operationName: opName ?? null,
          },
          sink,
          anonymous("127.0.0.1"),
        );
        running.cancel();
        running.cancel();
        if (terminal > 1) throw new Error("more than one terminal call");
      }),
    ),
    { numRuns: runs, ...(seed === undefined ? {} : { seed }) },
  );
  // Every subscription was cancelled at once: nothing may stay subscribed.
  await new Promise((r) => setTimeout(r, 50));
  const stats = engine.stats();
  if (stats.subscriptions !== 0 || stats.triggers !== 0 || stats.brokerSubscriptions !== 0)
    throw new Error(
      `leaked: ${JSON.stringify({ s: stats.subscriptions, t: stats.triggers, b: stats.brokerSubscriptions })}`,
    );
  if (rig.errors.length > 0) throw new Error(`engine errors: ${rig.errors.slice(0, 3).join("; ")}`);
}

/** Random event bytes through decoding, checks, filters and shaping of live subscriptions. */
export async function eventTarget(rig: FuzzEngine, runs: number, seed?: number): Promise<void> {
  const { engine } = rig;
  const delivered: string[] = [];
  const sink: OperationSink = {
    next: (json) => delivered.push(json),
    error: (e) => {
      throw new Error(`subscription ended: ${JSON.stringify(e)}`);
    },
    complete: () => {},
  };
  const subs = [
    'subscription { employeeUpdated(id: "7") { __typename id } }',
    'subscription { anyUpdated(ids: ["7", "x", "1"]) { id } }',
  ].map((query) => engine.execute({ query }, sink, anonymous("127.0.0.1")));
  await new Promise((r) => setTimeout(r, 20));
  await fc.assert(
    fc.asyncProperty(
      eventBytes,
      fc.constantFrom("employeeUpdated.7", "employeeUpdated.x"),
      async (bytes, topic) => {
        count("event");
        await rig.publish(topic, bytes);
      },
    ),
    { numRuns: runs, ...(seed === undefined ? {} : { seed }) },
  );
  await new Promise((r) => setTimeout(r, 20));
  for (const s of subs) s.cancel();
  for (const json of delivered) {
    const v = JSON.parse(json) as Record<string, unknown>;
    if (!("data" in v) && !("errors" in v)) throw new Error(`delivered neither data nor errors: ${json}`);
  }
  if (rig.errors.length > 0) throw new Error(`engine errors: ${rig.errors.slice(0, 3).join("; ")}`);
}

/** Random YAML through the config loader: a frozen config or a StreamgateError, nothing else. */
export async function configTarget(runs: number, fileRuns: number, seed?: number): Promise<void> {
  const expectOnly = (err: unknown): void => {
    if (!(err instanceof StreamgateError)) throw err;
  };
  fc.assert(
    fc.property(yamlText, (text) =>
      timed("config", () => {
        let doc: unknown;
        try {
          doc = parseYaml(text, { maxAliasCount: 100, logLevel: "silent" });
        } catch {
          return; // not YAML: the loader reports it (checked through files below)
        }
        try {
          const c = configFromObject(doc, { env: {} });
          if (!Object.isFrozen(c)) throw new Error("config not frozen");
        } catch (err) {
          expectOnly(err);
        }
      }),
    ),
    { numRuns: runs, ...(seed === undefined ? {} : { seed }) },
  );
  const dir = await mkdtemp(join(tmpdir(), "streamgate-fuzz-"));
  let i = 0;
  await fc.assert(
    fc.asyncProperty(yamlText, async (text) => {
      count("config-file");
      const file = join(dir, `c${i++ % 8}.yaml`);
      await writeFile(file, text);
      await loadConfigFile(file, {}).then(() => {}, expectOnly);
    }),
    { numRuns: fileRuns, ...(seed === undefined ? {} : { seed }) },
  );
}

/** Sends one raw request; resolves with the status line, "closed" or "timeout". */
function send(port: number, c: HttpCase, waitMs: number): Promise<string> {
  return new Promise((resolve) => {
    const s = tcp(port, "127.0.0.1");
    const body = Buffer.from(c.body);
    const headers = c.headers.map(([k, v]) => `${k}: ${v}\r\n`).join("");
    const length = c.body === "" ? "" : `content-length: ${body.length}\r\n`;
    let text = "";
    const timer = setTimeout(() => {
      s.destroy();
      resolve("timeout");
    }, waitMs);
    const done = (r: string): void => {
      clearTimeout(timer);
      s.destroy();
      resolve(r);
    };
    s.on("error", () => {});
    s.on("connect", () => {
      s.write(`${c.method} ${c.path} HTTP/1.1\r\nhost: x\r\n${headers}${length}\r\n`);
      if (c.body !== "") s.write(body);
    });
    s.on("data", (d) => {
      text += d.toString("latin1");
      const end = text.indexOf("\r\n");
      if (end >= 0) done(text.slice(0, end));
    });
    s.on("close", () => done(text === "" ? "closed" : text.slice(0, 40)));
  });
}

/** A request line uWS can parse: a token method and an origin-form target (no whitespace or controls). */
function parseable(c: HttpCase): boolean {
  return /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(c.method) && /^\/[\x21-\x7e]*$/.test(c.path);
}

/**
 * Random HTTP requests through a running router: a request uWS can parse gets a status line (or
 * a closed connection), never silence. uWS answers an unparseable request line with silence
 * until its ~10 s timeout (docs/security.md); those cases only must not get a 5xx or harm the router.
 */
export async function httpTarget(port: number, runs: number, seed?: number): Promise<void> {
  await fc.assert(
    fc.asyncProperty(httpRequest, async (c) => {
      count("http");
      const ok = parseable(c);
      const r = await send(port, c, ok ? 4000 : 300);
      if (r === "timeout" && ok) throw new Error("no answer within 4 s");
      if (r === "timeout") return;
      if (r !== "closed" && !/^HTTP\/1\.1 \d{3} /.test(r)) throw new Error(`not a status line: ${r}`);
      if (/^HTTP\/1\.1 5\d\d /.test(r) && !r.includes("503")) throw new Error(`server error: ${r}`);
    }),
    { numRuns: runs, ...(seed === undefined ? {} : { seed }) },
  );
}
