/**
 * How a RedisProvider config becomes ioredis clients, and the reconnect backoff. Kept apart from
 * the provider so the policy can be read (and unit-tested) without a connection.
 */
import { Cluster, type ClusterOptions, Redis, type RedisOptions } from "ioredis";
import type { RedisProviderConfig } from "../../config/types.js";
import { ErrorCode, StreamgateError } from "../../errors.js";

/** Tuning for RedisProvider; every field has a default suited to the router. */
export interface RedisProviderOptions {
  /** One connection attempt may take this long (ms) before start() rejects. Default 2000. */
  readonly connectTimeoutMs?: number;
  /** A PUBLISH without a reply after this long (ms) rejects. Default 5000. */
  readonly publishTimeoutMs?: number;
  /**
   * subscribe() waits this long (ms) at most for the broker to confirm (P)SUBSCRIBE; past it the
   * subscription stays registered and goes live when the broker answers. Default 5000.
   */
  readonly subscribeTimeoutMs?: number;
  /** First delay (ms) between attempts to reach a broker that is down. Default 100. */
  readonly minBackoffMs?: number;
  /** Largest delay (ms) between those attempts. Default 2000. */
  readonly maxBackoffMs?: number;
  /** Connection name prefix shown by CLIENT LIST. Default "streamgate:<id>". */
  readonly name?: string;
}

/** {@link RedisProviderOptions} with the defaults filled in. */
export type ResolvedRedisOptions = Required<RedisProviderOptions>;

export function resolveOptions(id: string, o: RedisProviderOptions = {}): ResolvedRedisOptions {
  return {
    connectTimeoutMs: o.connectTimeoutMs ?? 2000,
    publishTimeoutMs: o.publishTimeoutMs ?? 5000,
    subscribeTimeoutMs: o.subscribeTimeoutMs ?? 5000,
    minBackoffMs: o.minBackoffMs ?? 100,
    maxBackoffMs: o.maxBackoffMs ?? 2000,
    name: o.name ?? `streamgate:${id}`,
  };
}

/**
 * Delay before reconnect attempt `attempt` (1-based; ioredis resets the count once connected):
 * doubling from `min` up to `max`, plus up to 20% jitter so many routers do not reconnect in
 * lockstep after a broker restart. Always a number: the router never gives up on its broker.
 */
export function backoffDelay(attempt: number, minMs: number, maxMs: number): number {
  const base = Math.min(maxMs, minMs * 2 ** Math.min(30, Math.max(0, attempt - 1)));
  return Math.round(base * (1 + Math.random() * 0.2));
}

/** The URL without credentials, safe for messages and logs. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/[^/@]*@/g, "//***@");
}

/** What the provider needs of an ioredis `Redis` or `Cluster`; both satisfy it. */
export interface PubSubClient {
  readonly status: string;
  connect(): Promise<void>;
  disconnect(): void;
  subscribe(...channels: string[]): Promise<unknown>;
  unsubscribe(...channels: string[]): Promise<unknown>;
  psubscribe(...patterns: string[]): Promise<unknown>;
  punsubscribe(...patterns: string[]): Promise<unknown>;
  publish(channel: string, message: Buffer): Promise<number>;
  ping(): Promise<string>;
  on(event: string, listener: (...args: never[]) => void): unknown;
  removeAllListeners(): unknown;
}

/** Which connection a client is: subscribing ones queue commands while down, publishing ones don't. */
export type ClientRole = "sub" | "pub";

/**
 * One ioredis client for `role`. Both are lazy (start() connects them) and reconnect forever with
 * {@link backoffDelay}. The subscriber keeps an offline queue with no retry limit, so a
 * (P)SUBSCRIBE made during an outage is sent once the connection is back (after ioredis' own
 * autoResubscribe, which restores SUBSCRIBEd channels and PSUBSCRIBEd patterns alike). The
 * publisher has no offline queue and fails in-flight commands on the first disconnect: a publish
 * while the broker is away rejects at once instead of waiting, unbounded, for a broker that may
 * never return (or being sent minutes late).
 */
export function createClient(
  config: RedisProviderConfig,
  o: ResolvedRedisOptions,
  role: ClientRole,
): PubSubClient {
  const retry = (attempt: number) => backoffDelay(attempt, o.minBackoffMs, o.maxBackoffMs);
  const common: RedisOptions = {
    lazyConnect: true,
    connectTimeout: o.connectTimeoutMs,
    connectionName: `${o.name}:${role}`,
    autoResubscribe: true,
    ...(role === "sub"
      ? { maxRetriesPerRequest: null }
      : {
          maxRetriesPerRequest: 0,
          autoResendUnfulfilledCommands: false,
          commandTimeout: o.publishTimeoutMs,
        }),
  };
  if (config.cluster_enabled) {
    const { nodes, auth } = clusterNodes(config);
    const { lazyConnect: _, ...redisOptions } = common;
    const options: ClusterOptions = {
      lazyConnect: true,
      enableOfflineQueue: role === "sub",
      clusterRetryStrategy: retry,
      redisOptions: { ...redisOptions, ...auth },
    };
    return new Cluster(nodes, options) as unknown as PubSubClient;
  }
  return new Redis(config.urls[0]!, {
    ...common,
    retryStrategy: retry,
    enableOfflineQueue: role === "sub",
  }) as unknown as PubSubClient;
}

/**
 * Throws CONFIG_INVALID for a config no client can be made from: several URLs without
 * cluster_enabled (which one would be meant?), or a URL that is not redis:// or rediss://.
 */
export function checkConfig(config: RedisProviderConfig): void {
  if (!config.cluster_enabled && config.urls.length !== 1) {
    throw new StreamgateError(
      ErrorCode.CONFIG_INVALID,
      `redis provider "${config.id}": urls lists ${config.urls.length} servers but cluster_enabled is false; ` +
        "list one URL, or set cluster_enabled: true for cluster seed nodes",
    );
  }
  clusterNodes(config);
}

/**
 * Cluster seed nodes from the URLs. ioredis uses a seed URL's credentials only for that seed, not
 * for the nodes it discovers, so the first credentials and TLS setting found apply to every node.
 */
function clusterNodes(config: RedisProviderConfig): {
  nodes: { host: string; port: number }[];
  auth: Partial<RedisOptions>;
} {
  const auth: Partial<RedisOptions> = {};
  const nodes = config.urls.map((raw) => {
    let u: URL;
    try {
      u = new URL(raw);
    } catch {
      // No cause: URL's error message repeats the input, password included.
      throw new StreamgateError(
        ErrorCode.CONFIG_INVALID,
        `redis provider "${config.id}": invalid URL ${JSON.stringify(redactUrl(raw))}`,
      );
    }
    if (u.protocol !== "redis:" && u.protocol !== "rediss:") {
      throw new StreamgateError(
        ErrorCode.CONFIG_INVALID,
        `redis provider "${config.id}": URL ${JSON.stringify(redactUrl(raw))} is not redis:// or rediss://` +
          (raw === "memory://" ? ' (memory:// must be the only URL, as urls: ["memory://"])' : ""),
      );
    }
    if (u.password && auth.password === undefined) {
      auth.password = decodeURIComponent(u.password);
      if (u.username) auth.username = decodeURIComponent(u.username);
    }
    if (u.protocol === "rediss:") auth.tls = {};
    return { host: u.hostname || "127.0.0.1", port: Number(u.port || 6379) };
  });
  return { nodes, auth };
}

/** Disconnects without reconnecting and waits (briefly) for the socket to close. */
export async function closeClient(client: PubSubClient | undefined): Promise<void> {
  if (!client) return;
  // Only a live socket ends with an "end" event; a client between attempts just drops its timer.
  const live = ["connecting", "connect", "ready"].includes(client.status);
  let timer: NodeJS.Timeout | undefined;
  const ended = new Promise<void>((resolve) => {
    client.on("end", () => resolve());
    timer = setTimeout(resolve, live ? 1000 : 0);
  });
  client.disconnect();
  await ended;
  clearTimeout(timer);
}

/**
 * Waits for `p` at most `ms`. Past it, resolves (a broker answer that comes later still takes
 * effect, nothing is lost), or with `reject`, rejects. Either way no timer is left behind.
 */
export async function within(ms: number, p: Promise<unknown>, reject = false): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve, fail) => {
    timer = setTimeout(
      () =>
        reject
          ? fail(new StreamgateError(ErrorCode.PROVIDER_UNAVAILABLE, `timed out after ${ms}ms`))
          : resolve(),
      ms,
    );
  });
  try {
    await Promise.race([p, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** A sleep of `ms` that `wake()` ends early; its timer never outlives it. */
export function napper(ms: number): { done: Promise<void>; wake: () => void } {
  let wake = (): void => undefined;
  const done = new Promise<void>((resolve) => {
    const timer = setTimeout(() => wake(), ms);
    wake = () => {
      clearTimeout(timer);
      resolve();
    };
  });
  return { done, wake };
}
