/**
 * The thin layer over ioredis: the client interface the provider uses, how one client is made for
 * a role (subscriber or publisher), and how it is closed.
 */
import { createRequire } from "node:module";
import type { EventEmitter } from "node:events";
import { Cluster, type ClusterOptions, Redis, type RedisOptions } from "ioredis";
import type { RedisProviderConfig } from "../../config/types.js";
import { backoffByAttempt } from "../common/backoff.js";
import { readTlsFiles } from "../common/tls.js";
import { clusterNodes, type ResolvedRedisOptions } from "./options.js";

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

/** ioredis' own connector for a single server, as far as we use it (it is not in the package's types). */
interface StandaloneConnectorClass {
  new (options: unknown): { connect(errorEmitter: unknown): Promise<EventEmitter> };
}
const { default: StandaloneConnector } = createRequire(import.meta.url)(
  "ioredis/built/connectors/StandaloneConnector",
) as { default: StandaloneConnectorClass };

/**
 * ioredis listens for a socket error with `once` (redis/ioredis#961): a TLS handshake the server
 * refuses can emit two, and the second, with no listener left, is an uncaught exception that
 * ends the process. Every socket gets a listener for its whole life here; ioredis still handles
 * the first error as it always does.
 */
class GuardedConnector extends StandaloneConnector {
  override connect(errorEmitter: unknown): Promise<EventEmitter> {
    return super.connect(errorEmitter).then((stream) => {
      stream.on("error", () => undefined);
      return stream;
    });
  }
}

/** Which connection a client is: subscribing ones queue commands while down, publishing ones don't. */
export type ClientRole = "sub" | "pub";

/**
 * One ioredis client for `role`. Both are lazy (start() connects them) and reconnect forever with
 * {@link backoffByAttempt}. The subscriber keeps an offline queue with no retry limit, so a
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
  const retry = (attempt: number) => backoffByAttempt(attempt, o.minBackoffMs, o.maxBackoffMs);
  // A tls block means TLS, as rediss:// does; its files complete the rediss:// defaults.
  const tlsUrl = config.urls.some((u) => u.toLowerCase().startsWith("rediss:"));
  const tls =
    config.tls || tlsUrl
      ? { tls: config.tls ? readTlsFiles(config.tls, `redis provider "${config.id}"`) : {} }
      : {};
  const common: RedisOptions = {
    lazyConnect: true,
    connectTimeout: o.connectTimeoutMs,
    connectionName: `${o.name}:${role}`,
    Connector: GuardedConnector as unknown as RedisOptions["Connector"],
    ...tls,
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
      redisOptions: { ...auth, ...redisOptions },
    };
    return new Cluster(nodes, options) as unknown as PubSubClient;
  }
  return new Redis(config.urls[0]!, {
    ...common,
    retryStrategy: retry,
    enableOfflineQueue: role === "sub",
  }) as unknown as PubSubClient;
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
