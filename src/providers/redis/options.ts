/**
 * How a RedisProvider config is checked and turned into ioredis connection settings. Kept apart
 * from the provider so the policy can be read (and unit-tested) without a connection.
 */
import type { RedisOptions } from "ioredis";
import type { RedisProviderConfig } from "../../config/types.js";
import { ErrorCode, StreamgateError } from "../../errors.js";
import { redactUrl } from "../common/redact.js";

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
export function clusterNodes(config: RedisProviderConfig): {
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
