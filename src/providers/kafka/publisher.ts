/**
 * The producer side of KafkaProvider: one librdkafka producer, each publish() settled by its own
 * delivery report (acks=all, see options.ts), matched through the record's opaque id. Delivery
 * reports are served by librdkafka's background thread, so no JavaScript poll timer runs.
 */
import type { LibrdKafkaError, Producer } from "@confluentinc/kafka-javascript";
import { ErrorCode, StreamgateError, toError } from "../../errors.js";
import * as rd from "./client.js";
import type { RdkafkaConfig } from "./options.js";
import type { PublishOptions } from "../provider.js";

interface Pending {
  resolve(): void;
  reject(err: Error): void;
}

/** How long close() lets queued records go out before it disconnects anyway (ms). */
const CLOSE_FLUSH_MS = 2000;

/** See the module comment. */
export class Publisher {
  private readonly pending = new Map<number, Pending>();
  private seq = 0;
  private closed = false;

  private constructor(readonly producer: Producer) {
    producer.on("delivery-report", (err: LibrdKafkaError | undefined, report: { opaque?: unknown }) => {
      const id = typeof report?.opaque === "number" ? report.opaque : undefined;
      const p = id === undefined ? undefined : this.pending.get(id);
      if (!p) return;
      this.pending.delete(id!);
      if (err) p.reject(err instanceof Error ? err : toError(err, ErrorCode.PUBLISH_FAILED));
      else p.resolve();
    });
  }

  static async create(conf: RdkafkaConfig): Promise<Publisher> {
    return new Publisher(await rd.newProducer(conf));
  }

  async connect(timeoutMs: number): Promise<void> {
    await rd.connect(this.producer, timeoutMs);
    this.producer.setPollInBackground(true);
  }

  /** Resolves once every in-sync replica has the record; rejects with librdkafka's error otherwise. */
  publish(topic: string, data: Uint8Array, options?: PublishOptions): Promise<void> {
    if (this.closed)
      return Promise.reject(new StreamgateError(ErrorCode.PUBLISH_FAILED, "producer is closed"));
    return new Promise<void>((resolve, reject) => {
      const id = ++this.seq;
      this.pending.set(id, { resolve, reject });
      try {
        // librdkafka copies the bytes before produce() returns: the caller may reuse its buffer.
        const value = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
        const key = options?.key === undefined ? null : Buffer.from(options.key);
        const headers = options?.headers
          ? Object.entries(options.headers).map(([name, v]) => ({ [name]: Buffer.from(v) }))
          : undefined;
        this.producer.produce(topic, null, value, key, null, id, headers);
      } catch (err) {
        // Refused before it was queued (queue full, unknown topic name, not connected).
        this.pending.delete(id);
        reject(toError(err, ErrorCode.PUBLISH_FAILED));
      }
    });
  }

  /** Flushes for a short while, disconnects, and fails whatever is still unacknowledged. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await rd.disconnectProducer(this.producer, CLOSE_FLUSH_MS);
    const left = [...this.pending.values()];
    this.pending.clear();
    for (const p of left)
      p.reject(
        new StreamgateError(
          ErrorCode.PUBLISH_FAILED,
          "the provider stopped before the broker acknowledged the record",
        ),
      );
  }
}
