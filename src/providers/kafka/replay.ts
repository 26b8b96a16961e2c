/**
 * Replay from Kafka for at-least-once resume (spec/delivery.md): a short-lived consumer of its
 * own (the provider's shared one must never seek back for one client) is assigned every partition
 * of the subscription's topics at the client's last offset + 1 (partitions the cursor does not
 * name appeared after it was made: from their start), reads each up to its high watermark at the
 * time the replay began, and closes. Positions are keyed `<topic>:<partition>`.
 */
import type { Message } from "@confluentinc/kafka-javascript";
import type { BrokerEvent, EventPosition, ReplayRequest } from "../provider.js";
import * as rd from "./client.js";
import type { RdkafkaConfig } from "./options.js";

/** Records asked for per consume call while catching up. */
const REPLAY_BATCH = 500;

export function kafkaPosition(event: BrokerEvent): EventPosition | undefined {
  const p = event.position;
  if (p === undefined) return undefined;
  const colon = p.indexOf(":");
  const partition = Number(p.slice(0, colon));
  const offset = Number(p.slice(colon + 1));
  if (colon < 0 || !Number.isSafeInteger(partition) || !Number.isSafeInteger(offset)) return undefined;
  return { key: `${event.topic}:${partition}`, offset };
}

/** Low and high watermark of every partition of `topics` (topics that do not exist have none). */
export async function watermarks(
  consumer: rd.Consumer,
  topics: readonly string[],
  timeoutMs: number,
): Promise<{ topic: string; partition: number; low: number; high: number }[]> {
  const out: { topic: string; partition: number; low: number; high: number }[] = [];
  for (const topic of topics) {
    const meta = await rd.getMetadata(consumer, topic, timeoutMs);
    const partitions = meta.topics.find((t) => t.name === topic)?.partitions ?? [];
    for (const { id } of partitions) {
      const wm = await rd.queryWatermarks(consumer, topic, id, timeoutMs);
      out.push({ topic, partition: id, low: wm.lowOffset, high: wm.highOffset });
    }
  }
  return out;
}

/**
 * Where every partition of `topics` stands now, on a connected consumer: high watermark - 1 (the
 * last record), so a subscription made after this skips nothing these positions do not cover.
 */
export async function kafkaHeads(
  consumer: rd.Consumer,
  topics: readonly string[],
  timeoutMs: number,
): Promise<Record<string, number>> {
  const marks = await watermarks(consumer, topics, timeoutMs);
  return Object.fromEntries(marks.map((m) => [`${m.topic}:${m.partition}`, m.high - 1]));
}

export async function replayKafka(conf: RdkafkaConfig, req: ReplayRequest, timeoutMs: number): Promise<void> {
  const consumer = await rd.newConsumer(conf);
  try {
    await rd.connect(consumer, timeoutMs);
    const marks = await watermarks(consumer, req.topics, timeoutMs);
    const ends = new Map<string, number>();
    const assign: { topic: string; partition: number; offset: number }[] = [];
    let gap = false;
    for (const m of marks) {
      const after = req.after[`${m.topic}:${m.partition}`];
      // Retention removed records the client had not seen.
      if (after !== undefined && after + 1 < m.low && !gap) {
        gap = true;
        req.onGap();
      }
      const start = after === undefined ? m.low : Math.max(after + 1, m.low);
      if (start >= m.high) continue;
      assign.push({ topic: m.topic, partition: m.partition, offset: start });
      ends.set(`${m.topic}:${m.partition}`, m.high - 1);
    }
    if (assign.length === 0) return;
    consumer.setDefaultConsumeTimeout(Math.min(1000, timeoutMs));
    consumer.assign(assign);
    while (ends.size > 0 && !req.signal.aborted) {
      const batch: Message[] = await rd.consume(consumer, REPLAY_BATCH);
      const events: BrokerEvent[] = [];
      for (const m of batch) {
        const key = `${m.topic}:${m.partition}`;
        const end = ends.get(key);
        if (end === undefined || m.offset > end) continue; // live from here on
        events.push(rd.toEvent(m));
        if (m.offset >= end) ends.delete(key);
      }
      if (events.length > 0) await req.onEvents(events);
    }
  } finally {
    await rd.disconnect(consumer);
  }
}
