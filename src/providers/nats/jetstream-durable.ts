/**
 * What one router durable looks like on the server: its settings, and how it is created or
 * updated. A missing stream rejects with STREAM_NOT_FOUND. Kept apart from the consuming code so the policy can be read on its own.
 */
import { ErrorCode, StreamgateError } from "../../errors.js";
import {
  AckPolicy,
  type ConsumerConfig,
  type ConsumerInfo,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  jetstreamManager,
} from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";

/** Messages asked for per pull; nats.js pulls again when 3/4 of them arrived. */
export const PULL_BATCH = 100;
/** Unacked messages the server lets one consumer have outstanding. */
export const MAX_ACK_PENDING = 1000;
/** A pull request lives this long (ms); the server heartbeats it every half of that. */
export const PULL_EXPIRES_MS = 10_000;
/** A message whose handler threw this many times is terminated instead of redelivered forever. */
export const MAX_ATTEMPTS = 5;
/** Redelivery delay (ms) after a failed attempt: 250, 500, 1000, ... up to 5s. */
export const nakDelay = (attempt: number) => Math.min(5000, 250 * 2 ** Math.max(0, attempt - 1));

export interface DurableSpec {
  readonly stream: string;
  /** The durable name: `consumerName-<hash>`. */
  readonly name: string;
  /** The consumer's one filter subject (nats-server 2.9 allows no more). */
  readonly subject: string;
  readonly inactiveThresholdSec: number;
}

/**
 * A fresh durable starts at new messages; an existing one keeps its position (the point of a
 * durable) and only gets the settings we own updated (nats-server refuses to change a durable's
 * deliver policy anyway). `after` set means the durable was lost while subscribed (e.g. reaped
 * during a long partition, or its position lost by the server): it is recreated after that
 * stream sequence (what was settled), not at new messages.
 */
export async function createOrUpdateDurable(
  nc: NatsConnection,
  spec: DurableSpec,
  after: number | undefined,
): Promise<{ info: ConsumerInfo; created: boolean }> {
  const { stream, name, subject } = spec;
  const jsm = await jetstreamManager(nc, { checkAPI: false });
  const inactive = Math.round(spec.inactiveThresholdSec * 1e9);
  try {
    let existing: ConsumerInfo | undefined;
    try {
      existing = await jsm.consumers.info(stream, name);
    } catch (err) {
      if (!isApiError(err, JetStreamApiCodes.ConsumerNotFound)) throw err;
    }
    if (existing) {
      const c = existing.config;
      if (c.deliver_subject) {
        throw new StreamgateError(
          ErrorCode.PROVIDER_UNAVAILABLE,
          `consumer "${name}" on stream "${stream}" is a push consumer, not a pull one`,
        );
      }
      if (c.inactive_threshold === inactive && c.max_ack_pending === MAX_ACK_PENDING) {
        return { info: existing, created: false };
      }
      const info = await jsm.consumers.update(stream, name, {
        inactive_threshold: inactive,
        max_ack_pending: MAX_ACK_PENDING,
      });
      return { info, created: false };
    }
    const config: Partial<ConsumerConfig> = {
      durable_name: name,
      filter_subject: subject,
      ack_policy: AckPolicy.Explicit,
      max_ack_pending: MAX_ACK_PENDING,
      inactive_threshold: inactive,
      ...(after !== undefined
        ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: after + 1 }
        : { deliver_policy: DeliverPolicy.New }),
    };
    return { info: await jsm.consumers.add(stream, config), created: true };
  } catch (err) {
    if (isApiError(err, JetStreamApiCodes.StreamNotFound)) {
      throw new StreamgateError(ErrorCode.STREAM_NOT_FOUND, `JetStream stream "${stream}" does not exist`, {
        cause: err,
      });
    }
    throw err;
  }
}

/** Deletes the durable (one that lost its position); one already gone is fine. */
export async function deleteDurable(nc: NatsConnection, spec: DurableSpec): Promise<void> {
  const jsm = await jetstreamManager(nc, { checkAPI: false });
  try {
    await jsm.consumers.delete(spec.stream, spec.name);
  } catch (err) {
    if (!isApiError(err, JetStreamApiCodes.ConsumerNotFound)) throw err;
  }
}

function isApiError(err: unknown, code: number): boolean {
  return err instanceof JetStreamApiError && err.code === code;
}
