/**
 * The validated, defaulted, frozen router configuration. The file format (YAML or JSON) is
 * described by src/config/schema.json; durations are normalised to milliseconds here.
 */

export type LogLevel = "trace" | "debug" | "info" | "warn" | "error" | "fatal" | "silent";

export interface SubgraphConfig {
  readonly name: string;
  /** HTTP endpoint of an ordinary federation subgraph; absent for an event-driven subgraph. */
  readonly routing_url?: string;
  /** Absolute path (resolved against the config file's folder). */
  readonly schema_file?: string;
  /** Inline SDL; used by the embedded default and tests. */
  readonly schema?: string;
}

/** Per provider: at-most-once (default) or at-least-once with cursors (docs/delivery.md). */
export type DeliveryMode = "at_most_once" | "at_least_once";

export interface DeliveryConfig {
  readonly cursor_secret?: string;
  /** milliseconds */
  readonly resume_timeout: number;
  /** Broker reads for resumes one provider runs at once (others wait, their live events held). */
  readonly max_concurrent_replays: number;
  readonly session_buffer?: {
    readonly provider_id: string;
    readonly max_events: number;
    /** milliseconds */
    readonly ttl: number;
    /** milliseconds: a log's writer lease (docs/delivery.md, "Session buffer"). */
    readonly lease: number;
  };
}

/** TLS files of a provider; paths are absolute (resolved against the config file's folder). */
export interface TlsFilesConfig {
  readonly ca_file?: string;
  readonly cert_file?: string;
  readonly key_file?: string;
  readonly insecure_skip_verify?: boolean;
}

/** Readiness beyond being connected. */
export interface ProviderHealthConfig {
  /** /health/ready fails while the provider's consumers are more than this many messages behind. */
  readonly max_lag?: number;
}

export interface NatsProviderConfig {
  readonly id: string;
  readonly delivery?: DeliveryMode;
  /** nats://host:port or tls://host:port, comma-separated for a cluster, or "memory://". */
  readonly url: string;
  readonly tls?: TlsFilesConfig;
  /** At most one of these (the schema says exactly one when the object is present). */
  readonly authentication?: {
    readonly token?: string;
    readonly user_info?: { readonly username: string; readonly password: string };
    /** An NKey user seed (SU…). */
    readonly nkey_seed?: string;
    /** Absolute path of a .creds file (user JWT + NKey seed). */
    readonly credentials_file?: string;
  };
  readonly health?: ProviderHealthConfig;
}

export interface KafkaProviderConfig {
  readonly id: string;
  readonly delivery?: DeliveryMode;
  readonly brokers: readonly string[];
  readonly authentication?: {
    readonly sasl_plain?: { readonly username: string; readonly password: string };
    readonly sasl_scram?: {
      readonly username: string;
      readonly password: string;
      readonly mechanism: "SCRAM-SHA-256" | "SCRAM-SHA-512";
    };
    readonly sasl_oauthbearer?: {
      readonly token_endpoint_url: string;
      readonly client_id: string;
      readonly client_secret: string;
      readonly scope?: string;
    };
  };
  readonly tls?: TlsFilesConfig & { readonly enabled: boolean };
  readonly health?: ProviderHealthConfig;
  /** milliseconds */
  readonly fetch_max_wait: number;
}

export interface RedisProviderConfig {
  readonly id: string;
  readonly delivery?: DeliveryMode;
  /** redis:// or rediss:// URLs; an ACL user and password may be in them. */
  readonly urls: readonly string[];
  readonly cluster_enabled: boolean;
  readonly tls?: TlsFilesConfig;
}

export interface EventsConfig {
  readonly skip_unavailable_providers: boolean;
  readonly providers: {
    readonly nats: readonly NatsProviderConfig[];
    readonly kafka: readonly KafkaProviderConfig[];
    readonly redis: readonly RedisProviderConfig[];
  };
}

export interface LimitsConfig {
  /** Connections (WebSockets, SSE/multipart streams) per process, over every worker thread. */
  readonly max_connections: number;
  /** Connections per client address (IPv6 per /64). */
  readonly max_connections_per_ip: number;
  readonly max_subscriptions_per_connection: number;
  /** Topics one subscription may render from its templates (list arguments expand). */
  readonly max_topics_per_subscription: number;
  /** Largest accepted WebSocket message or HTTP body, bytes. */
  readonly max_message_size: number;
  readonly max_operation_depth: number;
  readonly max_operation_aliases: number;
  readonly max_operation_root_fields: number;
  /** milliseconds a WebSocket may wait before connection_init; then close 4408. */
  readonly connection_init_timeout: number;
  /** milliseconds an HTTP request body may take to arrive; then 408. */
  readonly body_read_timeout: number;
  /** Bytes buffered for one socket before the slow-client policy applies. */
  readonly max_backpressure: number;
  /** Bytes all WebSockets and HTTP streams together may buffer; past it, those holding > 64 KiB count as slow. */
  readonly max_total_backpressure: number;
  /** What happens to a client past max_backpressure. */
  readonly slow_client_policy: "drop" | "close";
}

/** One JWT key source: a JWKS URL or a symmetric secret. */
export interface JwksSourceConfig {
  readonly url?: string;
  /** milliseconds */
  readonly refresh_interval: number;
  readonly algorithms?: readonly string[];
  readonly secret?: string;
  readonly symmetric_algorithm: "HS256" | "HS384" | "HS512";
  readonly header_key_id?: string;
}

export interface AuthenticationConfig {
  readonly jwt?: {
    readonly jwks: readonly JwksSourceConfig[];
    readonly header_name: string;
    readonly header_value_prefix: string;
    /** milliseconds */
    readonly clock_skew: number;
    readonly audiences?: readonly string[];
    readonly issuers?: readonly string[];
    readonly cache_size: number;
  };
}

export interface AuthorizationConfig {
  readonly require_authentication: boolean;
  readonly token_expiry: "close" | "ignore";
}

export interface WebSocketConfig {
  readonly authentication: {
    readonly from_initial_payload: { readonly enabled: boolean; readonly key: string };
  };
}

/** A token bucket: `rate` per second, `burst` at once, per `key` ("ip" or "claim:<path>"). */
export interface RateLimitBucketConfig {
  readonly rate: number;
  readonly burst?: number;
  readonly key: string;
}

export interface RateLimitConfig {
  readonly subscribe?: RateLimitBucketConfig;
  readonly publish?: RateLimitBucketConfig;
}

export interface TelemetryConfig {
  readonly service_name: string;
  readonly tracing: {
    readonly enabled: boolean;
    readonly sampling_rate: number;
    readonly exporters: readonly {
      readonly endpoint: string;
      readonly path: string;
      readonly headers?: Readonly<Record<string, string>>;
      /** milliseconds */
      readonly batch_timeout: number;
    }[];
    readonly propagation: { readonly trace_context: boolean };
  };
}

export interface CorsConfig {
  readonly allow_origins: readonly string[];
}

/** One hook's own limits; absent values come from `hooks.timeout` / `hooks.max_concurrency`. */
export interface HookLimitsConfig {
  /** milliseconds */
  readonly timeout?: number;
  readonly max_concurrency?: number;
}

/** What a hook's failure does to the events it ran for (docs/hooks.md). */
export type HookFailurePolicy = "skip" | "error";

export interface HooksConfig {
  /** milliseconds */
  readonly timeout: number;
  readonly max_concurrency: number;
  /** Request headers kept for hooks, lower case; "*" = all. */
  readonly headers: readonly string[];
  readonly on_subscription_create: HookLimitsConfig;
  readonly on_subscription_start: HookLimitsConfig;
  readonly on_receive_events: HookLimitsConfig & { readonly failure_policy: HookFailurePolicy };
  readonly on_deliver: HookLimitsConfig & { readonly failure_policy: HookFailurePolicy };
  readonly on_publish: HookLimitsConfig;
}

export interface Config {
  /** host:port; port 0 picks a free port. */
  readonly listen_addr: string;
  readonly graphql_path: string;
  readonly playground: boolean;
  readonly workers: number | "auto";
  /** milliseconds */
  readonly shutdown_grace_period: number;
  /** milliseconds */
  readonly heartbeat_interval: number;
  readonly log_level: LogLevel;
  readonly subgraphs: readonly SubgraphConfig[];
  readonly events: EventsConfig;
  readonly limits: LimitsConfig;
  readonly cors: CorsConfig;
  readonly authentication: AuthenticationConfig;
  readonly authorization: AuthorizationConfig;
  readonly websocket: WebSocketConfig;
  readonly rate_limit: RateLimitConfig;
  /** Reload on a change of the config file or a schema file (SIGHUP does it always). */
  readonly watch_config: boolean;
  readonly delivery: DeliveryConfig;
  /** Stream hook modules, absolute paths (resolved against the config file's folder). */
  readonly modules: readonly string[];
  readonly hooks: HooksConfig;
  readonly telemetry: TelemetryConfig;
  /** NATS request/reply timeout for @edfs__natsRequest, milliseconds. */
  readonly request_timeout: number;
  /** Names this instance's JetStream durables; undefined = the host name. */
  readonly instance_id?: string;
  /** HTTP request timeout towards ordinary subgraphs, milliseconds. */
  readonly subgraph_timeout: number;
  /** Absolute path of the file this came from, or undefined for the embedded default. */
  readonly source?: string;
}
