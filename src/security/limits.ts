/**
 * The names of the limits the router enforces on clients (the `limits` config keys, plus the
 * fixed HTTP head limits uWebSockets.js imposes) and one counter of refusals per limit, read by
 * /metrics as `streamgate_limit_refusals_total{limit=…}`. Every refusal of client input for a
 * limit goes through {@link LimitCounter.refused}, wherever it happens.
 */
import { type ClientError, clientError, ErrorCode } from "../errors.js";

/** Every limit a refusal can name; the `limit` label of the refusals metric. */
export const LIMIT_NAMES = [
  "max_connections",
  "max_connections_per_ip",
  "max_subscriptions_per_connection",
  "max_topics_per_subscription",
  "max_message_size",
  "max_operation_depth",
  "max_operation_aliases",
  "max_operation_root_fields",
  "connection_init_timeout",
  "body_read_timeout",
  "max_url_length",
  "max_header_size",
] as const;

export type LimitName = (typeof LIMIT_NAMES)[number];

/** Monotonic refusal counts per limit (mirrored into a prom-client Counter at scrape time). */
export class LimitCounter {
  private readonly counts = new Map<LimitName, number>(LIMIT_NAMES.map((n) => [n, 0]));

  refused(limit: LimitName): void {
    this.counts.set(limit, (this.counts.get(limit) ?? 0) + 1);
  }

  /** Every limit with its count so far (all of them, so every series exists from the start). */
  snapshot(): ReadonlyMap<LimitName, number> {
    return this.counts;
  }
}

/** The client error of a limit refusal: code SG_ERR_LIMIT_EXCEEDED, the limit's key in `extensions.limit`. */
export function limitError(limit: LimitName, message: string): ClientError {
  return clientError(ErrorCode.LIMIT_EXCEEDED, message, { limit });
}
