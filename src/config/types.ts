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

export interface NatsProviderConfig {
  readonly id: string;
  /** nats://host:port, or "memory://" for the embedded in-process broker. */
  readonly url: string;
  readonly authentication?: {
    readonly token?: string;
    readonly user_info?: { readonly username: string; readonly password: string };
  };
}

export interface KafkaProviderConfig {
  readonly id: string;
  readonly brokers: readonly string[];
  readonly authentication?: {
    readonly sasl_plain?: { readonly username: string; readonly password: string };
    readonly sasl_scram?: {
      readonly username: string;
      readonly password: string;
      readonly mechanism: "SCRAM-SHA-256" | "SCRAM-SHA-512";
    };
  };
  readonly tls?: { readonly enabled: boolean };
  /** milliseconds */
  readonly fetch_max_wait: number;
}

export interface RedisProviderConfig {
  readonly id: string;
  readonly urls: readonly string[];
  readonly cluster_enabled: boolean;
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

export interface CorsConfig {
  readonly allow_origins: readonly string[];
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
  /** NATS request/reply timeout for @edfs__natsRequest, milliseconds. */
  readonly request_timeout: number;
  /** Names this instance's JetStream durables; undefined = the host name. */
  readonly instance_id?: string;
  /** HTTP request timeout towards ordinary subgraphs, milliseconds. */
  readonly subgraph_timeout: number;
  /** Absolute path of the file this came from, or undefined for the embedded default. */
  readonly source?: string;
}
