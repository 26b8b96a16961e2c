/**
 * How a NatsProvider config becomes nats.js connection options. Kept
 * apart from the provider so the policy can be read (and unit-tested) without a connection.
 */
import { hostname } from "node:os";
import { readFileSync } from "node:fs";
import {
  type Authenticator,
  credsAuthenticator,
  type NodeConnectionOptions,
  nkeyAuthenticator,
  type TlsOptions,
} from "@nats-io/transport-node";
import type { NatsProviderConfig } from "../../config/types.js";

/** Tuning for NatsProvider; every field has a default suited to the router. */
export interface NatsProviderOptions {
  /** One connection attempt may take this long (ms) before start() rejects. Default 2000. */
  readonly connectTimeoutMs?: number;
  /**
   * Wait for the server to acknowledge each publish (a PING/PONG round trip) so publish() only
   * resolves once the broker has the message. Default true.
   */
  readonly confirmPublish?: boolean;
  /** How long (ms) to wait for that acknowledgement. Default 5000. */
  readonly publishTimeoutMs?: number;
  /** First delay (ms) between attempts to reach a broker that is down. Default 250. */
  readonly minBackoffMs?: number;
  /** Largest delay (ms) between those attempts. Default 2000. */
  readonly maxBackoffMs?: number;
  /** Connection name the NATS server shows in its monitoring. Default "streamgate:<id>". */
  readonly name?: string;
  /**
   * Names this router instance in its JetStream durable consumers (one per instance and subject,
   * see jetstream.ts). It must stay the same across restarts of one instance, so that a restarted
   * router resumes its durables where they were, and must differ between instances, or they would
   * share a durable and each get only part of the messages. Default `os.hostname()`: stable for a
   * VM or a StatefulSet pod; two routers on one host must be given distinct ids.
   */
  readonly instanceId?: string;
  /** With `health.max_lag`, how often (ms) the JetStream lag is probed for readiness. Default 5000. */
  readonly lagIntervalMs?: number;
}

/** {@link NatsProviderOptions} with the defaults filled in. */
export type ResolvedNatsOptions = Required<NatsProviderOptions>;

/** Fills in the defaults; the connection name defaults to `streamgate:<id>`. */
export function resolveOptions(id: string, o: NatsProviderOptions = {}): ResolvedNatsOptions {
  return {
    connectTimeoutMs: o.connectTimeoutMs ?? 2000,
    confirmPublish: o.confirmPublish ?? true,
    publishTimeoutMs: o.publishTimeoutMs ?? 5000,
    minBackoffMs: o.minBackoffMs ?? 250,
    maxBackoffMs: o.maxBackoffMs ?? 2000,
    name: o.name ?? `streamgate:${id}`,
    instanceId: o.instanceId ?? hostname(),
    lagIntervalMs: o.lagIntervalMs ?? 5000,
  };
}

/**
 * nats.js options for `config`. `reconnectDelay` is the provider's backoff (it tracks when the
 * outage began). Reconnects never give up: the router must survive broker restarts of any length.
 */
export function connectionOptions(
  config: NatsProviderConfig,
  o: ResolvedNatsOptions,
  reconnectDelay: () => number,
): NodeConnectionOptions {
  const auth = config.authentication;
  const authenticator = authenticatorFor(auth);
  const tls = tlsOptions(config);
  return {
    servers: serverList(config.url),
    name: o.name,
    timeout: o.connectTimeoutMs,
    reconnect: true,
    maxReconnectAttempts: -1,
    reconnectDelayHandler: reconnectDelay,
    // Fail the first connect fast so start() can report the broker down; retrying is ours to do.
    waitOnFirstConnect: false,
    // Credentials that fail twice would otherwise close the connection for good; an operator
    // fixing the server's auth config should not have to restart every router.
    ignoreAuthErrorAbort: true,
    ...(auth?.token ? { token: auth.token } : {}),
    ...(auth?.user_info ? { user: auth.user_info.username, pass: auth.user_info.password } : {}),
    ...(authenticator ? { authenticator } : {}),
    ...(tls ? { tls } : {}),
  };
}

/** The servers of `url`: one, or a comma-separated list naming the servers of one cluster. */
export function serverList(url: string): string[] {
  return url
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

/**
 * nats.js TLS options: the files are passed by path, so nats.js reads them at every connection
 * and a renewed certificate is picked up on the next reconnect without a restart. A tls:// URL
 * alone requires TLS with the system's CAs. Undefined: TLS only if the server requires it.
 */
export function tlsOptions(config: NatsProviderConfig): TlsOptions | undefined {
  const t = config.tls;
  const tlsUrl = serverList(config.url).some((s) => s.toLowerCase().startsWith("tls://"));
  if (!t && !tlsUrl) return undefined;
  return {
    ...(t?.ca_file ? { caFile: t.ca_file } : {}),
    ...(t?.cert_file ? { certFile: t.cert_file } : {}),
    ...(t?.key_file ? { keyFile: t.key_file } : {}),
    // Passed through to node:tls by nats.js; not in its TlsOptions type.
    ...(t?.insecure_skip_verify ? ({ rejectUnauthorized: false } as TlsOptions) : {}),
  };
}

/**
 * Decentralized auth: a credentials file (user JWT + NKey seed), read again at every connection
 * so a rotated file is used on the next reconnect; or an NKey seed that signs the server's nonce.
 */
function authenticatorFor(auth: NatsProviderConfig["authentication"]): Authenticator | undefined {
  if (auth?.credentials_file) {
    const file = auth.credentials_file;
    return credsAuthenticator(() => readFileSync(file));
  }
  if (auth?.nkey_seed) return nkeyAuthenticator(new TextEncoder().encode(auth.nkey_seed));
  return undefined;
}
