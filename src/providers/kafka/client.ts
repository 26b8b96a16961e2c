/**
 * The thin layer over `@confluentinc/kafka-javascript` (librdkafka): loads the native module on
 * first use, so a router without Kafka never loads it and a failed native build only fails Kafka
 * providers; turns its callbacks into promises; turns its records into BrokerEvents.
 */
import type {
  KafkaConsumer,
  Message,
  MessageHeader,
  Metadata,
  Producer,
  WatermarkOffsets,
} from "@confluentinc/kafka-javascript";
import { ErrorCode, StreamgateError } from "../../errors.js";
import type { BrokerEvent } from "../provider.js";
import type { RdkafkaConfig } from "./options.js";

/** The two classes the provider uses, as the package declares them. */
type RdkafkaModule = Pick<typeof import("@confluentinc/kafka-javascript"), "KafkaConsumer" | "Producer">;

/**
 * The package's librdkafka API without its KafkaJS-compatible layer, which the package's main
 * module loads too (~1 MB of RSS the router never uses; profiles/kafka-memory). The same objects
 * as the main module's `RdKafka` export; typed from the package's declarations.
 */
const RDKAFKA_API = "@confluentinc/kafka-javascript/lib/rdkafka.js";

let loading: Promise<RdkafkaModule> | undefined;

/** The native client module; rejects with PROVIDER_NOT_BUILT when its addon did not build. */
export function loadRdkafka(): Promise<RdkafkaModule> {
  loading ??= (import(RDKAFKA_API) as Promise<{ default: RdkafkaModule }>).then(
    (m) => m.default,
    (err: unknown) => {
      loading = undefined;
      throw new StreamgateError(
        ErrorCode.PROVIDER_NOT_BUILT,
        "the Kafka client (@confluentinc/kafka-javascript) could not be loaded: its native build is " +
          "missing or broken; reinstall with `npm ci` from the repository root (see docs/kafka.md)",
        { cause: err },
      );
    },
  );
  return loading;
}

/** Methods the consumer has at run time that its type declarations (1.10.1) leave out. */
export interface Consumer extends KafkaConsumer {
  incrementalAssign(assignments: { topic: string; partition: number; offset?: number }[]): this;
  incrementalUnassign(assignments: { topic: string; partition: number }[]): this;
  /** true: a consume(n) call waits only for its first record, then takes what is ready. */
  setDefaultIsTimeoutOnlyForFirstMessage(onlyFirst: boolean): void;
}

export async function newConsumer(conf: RdkafkaConfig): Promise<Consumer> {
  const { KafkaConsumer } = await loadRdkafka();
  return new KafkaConsumer(conf, {}) as Consumer;
}

export async function newProducer(conf: RdkafkaConfig): Promise<Producer> {
  const { Producer } = await loadRdkafka();
  // dr_cb: a delivery report per record, which is what publish() waits for.
  return new Producer({ ...conf, dr_cb: true });
}

type Callback<T> = (err: unknown, value: T) => void;

function promise<T>(start: (cb: Callback<T>) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    try {
      start((err, value) => (err ? reject(err) : resolve(value)));
    } catch (err) {
      reject(err);
    }
  });
}

/** Connects and reads cluster metadata; rejects when no broker answered within `timeoutMs`. */
export function connect(client: KafkaConsumer | Producer, timeoutMs: number): Promise<Metadata> {
  return promise<Metadata>((cb) => client.connect({ timeout: timeoutMs }, cb));
}

/** Metadata of one topic, or only of the brokers when `topic` is undefined (a liveness probe). */
export function getMetadata(
  client: KafkaConsumer | Producer,
  topic: string | undefined,
  timeoutMs: number,
): Promise<Metadata> {
  return promise<Metadata>((cb) =>
    client.getMetadata(topic === undefined ? { timeout: timeoutMs } : { topic, timeout: timeoutMs }, cb),
  );
}

export function queryWatermarks(
  client: KafkaConsumer,
  topic: string,
  partition: number,
  timeoutMs: number,
): Promise<WatermarkOffsets> {
  return promise<WatermarkOffsets>((cb) => client.queryWatermarkOffsets(topic, partition, timeoutMs, cb));
}

/** Up to `max` records, waiting at most the consumer's consume timeout for the first one. */
export function consume(client: KafkaConsumer, max: number): Promise<Message[]> {
  return promise<Message[]>((cb) => client.consume(max, cb));
}

/** Disconnects; never rejects (a client that never connected has nothing to close). */
export async function disconnect(client: KafkaConsumer | Producer): Promise<void> {
  if (!client.isConnected()) return;
  await promise<unknown>((cb) => client.disconnect(cb)).catch(() => undefined);
}

/** Flushes queued records for up to `timeoutMs`, then disconnects; never rejects. */
export async function disconnectProducer(producer: Producer, timeoutMs: number): Promise<void> {
  if (!producer.isConnected()) return;
  await promise<unknown>((cb) => producer.disconnect(timeoutMs, cb)).catch(() => undefined);
}

const asBytes = (v: Buffer | string): Uint8Array => (typeof v === "string" ? Buffer.from(v) : v);

/**
 * A record as a BrokerEvent: payload and key as bytes (a null value, which librdkafka also reports
 * for an empty payload, is empty bytes), headers as UTF-8 strings with repeated names joined by
 * ", " as HTTP does, position `partition:offset`.
 */
export function toEvent(m: Message): BrokerEvent {
  const event: { -readonly [K in keyof BrokerEvent]: BrokerEvent[K] } = {
    topic: m.topic,
    data: m.value ?? new Uint8Array(0),
    position: `${m.partition}:${m.offset}`,
  };
  if (m.key !== null && m.key !== undefined) event.key = asBytes(m.key);
  if (m.headers && m.headers.length > 0) event.headers = headersOf(m.headers);
  return event;
}

function headersOf(list: readonly MessageHeader[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const h of list) {
    for (const [name, value] of Object.entries(h)) {
      const text = typeof value === "string" ? value : value.toString("utf8");
      out[name] = Object.hasOwn(out, name) ? `${out[name]}, ${text}` : text;
    }
  }
  return out;
}
