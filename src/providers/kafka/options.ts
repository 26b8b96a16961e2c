/**
 * How a KafkaProvider config becomes librdkafka client properties. Kept
 * apart from the provider so the policy can be read (and unit-tested) without a broker.
 */
import type { KafkaProviderConfig } from "../../config/types.js";

/** Tuning for KafkaProvider; every field has a default suited to the router. */
export interface KafkaProviderOptions {
  /** start() gives up (PROVIDER_UNAVAILABLE) when no broker answered metadata in this time (ms). Default 2000. */
  readonly connectTimeoutMs?: number;
  /** publish() rejects when the record is not acknowledged by all in-sync replicas in this time (ms). Default 10000. */
  readonly publishTimeoutMs?: number;
  /** Metadata refresh (new topics and partitions, connectivity) while connected, ms. Default 5000. */
  readonly refreshIntervalMs?: number;
  /** First delay (ms) between attempts to reach a broker that is down. Default 250. */
  readonly minBackoffMs?: number;
  /** Largest delay (ms) between those attempts, librdkafka's reconnects included. Default 2000. */
  readonly maxBackoffMs?: number;
  /** Most records taken from librdkafka per consume call. Default 500. */
  readonly batchSize?: number;
  /** How long one consume call waits for a first record (ms); bounds stop(). Default 250. */
  readonly consumeWaitMs?: number;
  /** Time (ms) the producer waits to batch records. Default 1. */
  readonly lingerMs?: number;
  /** Client id the brokers see. Default "streamgate:<id>". */
  readonly clientId?: string;
  /** Extra librdkafka properties for both clients, applied last (e.g. ssl.ca.location). */
  readonly librdkafka?: Readonly<Record<string, string | number | boolean>>;
  /** With `health.max_lag`, how often (ms) the lag is looked at for readiness. Default 5000. */
  readonly lagIntervalMs?: number;
}

/** {@link KafkaProviderOptions} with the defaults filled in. */
export type ResolvedKafkaOptions = Required<KafkaProviderOptions>;

/** Fills in the defaults. */
export function resolveOptions(id: string, o: KafkaProviderOptions = {}): ResolvedKafkaOptions {
  return {
    connectTimeoutMs: o.connectTimeoutMs ?? 2000,
    publishTimeoutMs: o.publishTimeoutMs ?? 10_000,
    refreshIntervalMs: o.refreshIntervalMs ?? 5000,
    minBackoffMs: o.minBackoffMs ?? 250,
    maxBackoffMs: o.maxBackoffMs ?? 2000,
    batchSize: o.batchSize ?? 500,
    consumeWaitMs: o.consumeWaitMs ?? 250,
    lingerMs: o.lingerMs ?? 1,
    clientId: o.clientId ?? `streamgate:${id}`,
    librdkafka: o.librdkafka ?? {},
    lagIntervalMs: o.lagIntervalMs ?? 5000,
  };
}

export type RdkafkaConfig = Record<string, string | number | boolean>;

/** `security.protocol` from the TLS switch and the presence of SASL credentials. */
export function securityProtocol(config: KafkaProviderConfig): string {
  const a = config.authentication;
  const sasl = Boolean(a?.sasl_plain ?? a?.sasl_scram ?? a?.sasl_oauthbearer);
  const tls = config.tls?.enabled ?? false;
  if (sasl) return tls ? "SASL_SSL" : "SASL_PLAINTEXT";
  return tls ? "SSL" : "PLAINTEXT";
}

/** Properties shared by the consumer and the producer: brokers, security, reconnect backoff. */
export function commonConfig(config: KafkaProviderConfig, o: ResolvedKafkaOptions): RdkafkaConfig {
  const auth = config.authentication;
  const out: RdkafkaConfig = {
    "metadata.broker.list": config.brokers.join(","),
    "client.id": o.clientId,
    "security.protocol": securityProtocol(config),
    "reconnect.backoff.ms": Math.max(1, Math.min(o.minBackoffMs, 100)),
    "reconnect.backoff.max.ms": o.maxBackoffMs,
    // The router decides which topics exist; a typo in a schema must not create topics in production.
    "allow.auto.create.topics": false,
  };
  if (auth?.sasl_plain) {
    out["sasl.mechanisms"] = "PLAIN";
    out["sasl.username"] = auth.sasl_plain.username;
    out["sasl.password"] = auth.sasl_plain.password;
  } else if (auth?.sasl_scram) {
    out["sasl.mechanisms"] = auth.sasl_scram.mechanism;
    out["sasl.username"] = auth.sasl_scram.username;
    out["sasl.password"] = auth.sasl_scram.password;
  } else if (auth?.sasl_oauthbearer) {
    // librdkafka's own OIDC client: client-credentials grant, token refreshed before it expires.
    const o = auth.sasl_oauthbearer;
    out["sasl.mechanisms"] = "OAUTHBEARER";
    out["sasl.oauthbearer.method"] = "oidc";
    out["sasl.oauthbearer.token.endpoint.url"] = o.token_endpoint_url;
    out["sasl.oauthbearer.client.id"] = o.client_id;
    out["sasl.oauthbearer.client.secret"] = o.client_secret;
    if (o.scope) out["sasl.oauthbearer.scope"] = o.scope;
  }
  Object.assign(out, tlsConfig(config));
  return out;
}

/**
 * librdkafka's TLS properties. Files are given by path and read by librdkafka once, when a client
 * is made (a bad file fails that start with librdkafka's own message): a renewed certificate is
 * used once the provider makes its clients again (a restart of the router or of the provider).
 */
export function tlsConfig(config: KafkaProviderConfig): RdkafkaConfig {
  const t = config.tls;
  if (!t?.enabled) return {};
  const out: RdkafkaConfig = {};
  if (t.ca_file) out["ssl.ca.location"] = t.ca_file;
  if (t.cert_file) out["ssl.certificate.location"] = t.cert_file;
  if (t.key_file) out["ssl.key.location"] = t.key_file;
  if (t.insecure_skip_verify) {
    out["enable.ssl.certificate.verification"] = false;
    out["ssl.endpoint.identification.algorithm"] = "none";
  }
  return out;
}

/**
 * Bounds on what a consumer prefetches. librdkafka's own defaults let one consumer queue 100,000
 * records per partition or 64 MB (and ask for 50 MB per fetch) before it stops fetching: a router
 * whose event loop is busy fanning out, or a replay catching up, grew by that much native memory
 * that glibc then kept (profiles/kafka-memory: an 8 s stall at 5,000 records/s of 1 KB took the
 * consumer from 14 to 90 MB native and left 76 MB after draining; with these bounds 33 MB and 21).
 * The router hands records on within milliseconds, so a few thousand queued records keep it fed:
 * - queued.min.messages: records queued (all partitions together: the partition queues forward to
 *   the one consumer queue) before fetching stops;
 * - queued.max.messages.kbytes: the same in KB; librdkafka also caps fetch.max.bytes at it (and
 *   receive.message.max.bytes at that + 512), unless those are set; one record larger than that
 *   is still fetched (librdkafka grows a fetch as needed);
 * - fetch.queue.backoff.ms: when a bound is reached, the next look at the queue (librdkafka's
 *   1000 ms default would leave the router idle for up to a second once it has caught up).
 * The `librdkafka` option overrides each of them.
 */
export const CONSUMER_PREFETCH: Readonly<RdkafkaConfig> = {
  "queued.min.messages": 10_000,
  "queued.max.messages.kbytes": 8192,
  "fetch.queue.backoff.ms": 50,
};

/**
 * The consumer: assign()-only, never subscribe(), so it never joins its group and never commits.
 * librdkafka's C++ consumer insists on a group.id; a unique one keeps router instances apart.
 * Prefetch is bounded by {@link CONSUMER_PREFETCH}.
 */
export function consumerConfig(
  config: KafkaProviderConfig,
  o: ResolvedKafkaOptions,
  instance: string,
): RdkafkaConfig {
  return {
    ...commonConfig(config, o),
    "group.id": `streamgate-${config.id}-${instance}`,
    "enable.auto.commit": false,
    "enable.auto.offset.store": false,
    "enable.partition.eof": false,
    "fetch.wait.max.ms": config.fetch_max_wait,
    // Only when an assigned offset is out of range (retention removed it): take what is left.
    "auto.offset.reset": "earliest",
    ...CONSUMER_PREFETCH,
    ...o.librdkafka,
  };
}

/**
 * The producer: acks from every in-sync replica, idempotent (retries neither duplicate nor
 * reorder), and murmur2 partitioning: keyless records (the router's) always land on one partition
 * of a topic, so they keep their order; keyed records go where Java clients would put them.
 */
export function producerConfig(config: KafkaProviderConfig, o: ResolvedKafkaOptions): RdkafkaConfig {
  return {
    ...commonConfig(config, o),
    acks: "all",
    "enable.idempotence": true,
    partitioner: "murmur2",
    "linger.ms": o.lingerMs,
    "message.timeout.ms": o.publishTimeoutMs,
    ...o.librdkafka,
  };
}
