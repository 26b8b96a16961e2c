/**
 * The session buffer's Redis side: two ioredis connections made from the named redis provider's
 * config (src/providers/redis/client.ts, so its TLS and ACL settings apply), one for commands and
 * scripts and one for the blocking reads, which would hold any other command up. Both fail a
 * command at once while disconnected (no offline queue) and reconnect by themselves with backoff;
 * the buffer treats a failed command as "the buffer is unavailable" (provider.ts).
 */
import type { Redis } from "ioredis";
import type { RedisProviderConfig } from "../../config/types.js";
import { ErrorCode, errorMessage, StreamgateError } from "../../errors.js";
import type { BrokerEvent } from "../../providers/provider.js";
import { closeClient, createClient } from "../../providers/redis/client.js";
import { checkConfig, resolveOptions } from "../../providers/redis/options.js";
import { appendArgs, type LogKeys, parseReadReply, positionOfId, streamId } from "./codec.js";
import { APPEND, RELEASE, TICK } from "./scripts.js";

/** What one tick said about a log (scripts.ts, TICK). */
export type TickResult =
  | { readonly state: "let-go" | "writer" | "other" }
  | { readonly state: "acquired"; readonly existed: boolean };

/** How a tick speaks for this instance (scripts.ts, TICK). */
export type TickMode = "stay" | "leave" | "none";

/** An append that went through, or one the lease no longer allowed. */
export type AppendResult = { readonly last: number; readonly length: number } | "not-writer";

interface Scripted {
  sgTick(...args: (string | number)[]): Promise<unknown>;
  sgAppend(...args: (string | number | Buffer)[]): Promise<unknown>;
  sgRelease(...args: (string | number)[]): Promise<unknown>;
}

type Client = Redis & Scripted;

const STATES = ["let-go", "writer", "acquired", "other"] as const;

function pair(reply: unknown): [number, number] {
  if (!Array.isArray(reply) || reply.length !== 2)
    throw new StreamgateError(ErrorCode.INTERNAL, "session buffer: unexpected script reply");
  return [Number(reply[0]), Number(reply[1])];
}

export class BufferStore {
  private readonly cmd: Client;
  private readonly reader: Client;
  private lastError: string | undefined;

  /**
   * `onDown` is called whenever either connection closes (the buffer goes at-most-once at once,
   * before a command has to fail to say so).
   */
  constructor(
    config: RedisProviderConfig,
    private readonly onDown: (why: string) => void,
  ) {
    checkConfig(config);
    const make = (name: string): Client => {
      const c = createClient(config, resolveOptions(config.id, { name }), "pub") as unknown as Client;
      c.defineCommand("sgTick", { numberOfKeys: 3, lua: TICK });
      c.defineCommand("sgAppend", { numberOfKeys: 2, lua: APPEND });
      c.defineCommand("sgRelease", { numberOfKeys: 1, lua: RELEASE });
      // ioredis prints unhandled "error" events; the buffer reports outages itself.
      c.on("error", (err: Error) => {
        this.lastError = errorMessage(err);
      });
      c.on("close", () => this.onDown(this.lastError ?? "connection closed"));
      return c;
    };
    this.cmd = make(`streamgate:${config.id}:buffer`);
    this.reader = make(`streamgate:${config.id}:buffer-read`);
  }

  /** Both connections are up. */
  get ready(): boolean {
    return this.cmd.status === "ready" && this.reader.status === "ready";
  }

  /** The last connection error seen, for log lines. */
  get error(): string | undefined {
    return this.lastError;
  }

  /** Connects both; rejects when Redis cannot be reached (the clients keep trying by themselves). */
  async connect(): Promise<void> {
    await Promise.all(
      [this.cmd, this.reader].map((c) => (c.status === "wait" ? c.connect() : Promise.resolve())),
    );
  }

  async ping(): Promise<void> {
    await Promise.all([this.cmd.ping(), this.reader.ping()]);
  }

  async tick(keys: LogKeys, me: string, leaseMs: number, ttlMs: number, mode: TickMode): Promise<TickResult> {
    const [state, existed] = pair(
      await this.cmd.sgTick(keys.lease, keys.interest, keys.log, me, leaseMs, ttlMs, mode),
    );
    const name = STATES[state];
    if (name === undefined)
      throw new StreamgateError(ErrorCode.INTERNAL, `session buffer: unexpected tick state ${state}`);
    return name === "acquired" ? { state: name, existed: existed === 1 } : { state: name };
  }

  async append(
    keys: LogKeys,
    me: string,
    maxEvents: number,
    ttlMs: number,
    marker: boolean,
    events: readonly BrokerEvent[],
  ): Promise<AppendResult> {
    const [last, length] = pair(
      await this.cmd.sgAppend(
        keys.lease,
        keys.log,
        me,
        maxEvents,
        ttlMs,
        marker ? "1" : "0",
        ...appendArgs(events),
      ),
    );
    return last < 0 ? "not-writer" : { last, length };
  }

  async release(keys: LogKeys, me: string): Promise<void> {
    await this.cmd.sgRelease(keys.lease, me);
  }

  /** The newest entry's stream id and position (undefined: no log, or nothing ours at its end). */
  async head(keys: LogKeys): Promise<{ id: string; position: number | undefined } | undefined> {
    return this.edge(keys, "XREVRANGE", "+", "-");
  }

  /** The oldest entry's id and position. */
  async first(keys: LogKeys): Promise<{ id: string; position: number | undefined } | undefined> {
    return this.edge(keys, "XRANGE", "-", "+");
  }

  private async edge(
    keys: LogKeys,
    command: "XRANGE" | "XREVRANGE",
    from: string,
    to: string,
  ): Promise<{ id: string; position: number | undefined } | undefined> {
    const reply = await this.cmd.call(command, [keys.log, from, to, "COUNT", 1]);
    const entry = Array.isArray(reply) ? reply[0] : undefined;
    const id = Array.isArray(entry) && typeof entry[0] === "string" ? entry[0] : undefined;
    return id === undefined ? undefined : { id, position: positionOfId(id) };
  }

  /** Raw entries from position `from` to `to` (inclusive), at most `count`. */
  async range(keys: LogKeys, from: number, to: number, count: number): Promise<unknown> {
    return this.cmd.callBuffer("XRANGE", [keys.log, streamId(from), streamId(to), "COUNT", count]);
  }

  /**
   * One blocking read over `streams` ([key, last id read]); raw entries per key (none when the
   * block ran out).
   */
  async read(
    streams: readonly (readonly [string, string])[],
    count: number,
    blockMs: number,
  ): Promise<Map<string, unknown[]>> {
    const args: (string | number)[] = ["COUNT", count, "BLOCK", blockMs, "STREAMS"];
    for (const [key] of streams) args.push(key);
    for (const [, id] of streams) args.push(id);
    return parseReadReply(await this.reader.callBuffer("XREAD", args));
  }

  async close(): Promise<void> {
    const clients = [this.cmd, this.reader];
    for (const c of clients) c.removeAllListeners("close");
    await Promise.all(clients.map((c) => closeClient(c as never)));
  }
}
