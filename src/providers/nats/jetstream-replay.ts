/**
 * Replay from JetStream for at-least-once resume (spec/delivery.md): per rendered subject, an
 * ephemeral ordered consumer from the client's last stream sequence + 1, read until it has caught
 * up with what the stream held when the replay began; the live durable carries on from there and
 * the seam is deduplicated by sequence above the provider. Positions are keyed
 * `<stream>:<subject>`: each subject has its own durable, and two durables are each in stream
 * order but not against each other.
 */
import { DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { BrokerEvent, EventPosition, ReplayRequest, StreamOptions } from "../provider.js";
import { headersOf } from "./subscription.js";

/** Messages per fetch while catching up. */
const REPLAY_BATCH = 256;
/** How long one fetch waits for messages that are not there (the replay is then over). */
const FETCH_EXPIRES_MS = 1000;

export function positionKey(stream: StreamOptions, subject: string): string {
  return `${stream.streamName}:${subject}`;
}

/** A JetStream event's position: its stream sequence (the subject part is added by the caller). */
export function jetStreamPosition(event: BrokerEvent, stream: StreamOptions): EventPosition | undefined {
  if (event.position === undefined) return undefined;
  const seq = Number(event.position);
  return Number.isSafeInteger(seq) ? { key: stream.streamName, offset: seq } : undefined;
}

/** Where each subject of a subscription made now starts: the stream's last sequence. */
export async function jetStreamHeads(
  nc: NatsConnection,
  topics: readonly string[],
  stream: StreamOptions,
): Promise<Record<string, number>> {
  const jsm = await jetstreamManager(nc, { checkAPI: false });
  const info = await jsm.streams.info(stream.streamName);
  return Object.fromEntries(topics.map((t) => [positionKey(stream, t), info.state.last_seq]));
}

export async function replayJetStream(nc: NatsConnection, req: ReplayRequest): Promise<void> {
  const stream = req.stream!;
  const jsm = await jetstreamManager(nc, { checkAPI: false });
  const state = (await jsm.streams.info(stream.streamName)).state;
  const known = req.topics.map((t) => req.after[positionKey(stream, t)]).filter((n) => n !== undefined);
  // A subject the cursor does not name had no event yet when it was made: from the oldest known.
  const floor = known.length > 0 ? Math.min(...known) : state.last_seq;
  const js = jetstream(nc);
  let gap = false;
  for (const subject of req.topics) {
    if (req.signal.aborted) return;
    const after = req.after[positionKey(stream, subject)] ?? floor;
    // The stream no longer holds what came right after: retention dropped some of it.
    if (after + 1 < state.first_seq && !gap) {
      gap = true;
      req.onGap();
    }
    const start = Math.max(after + 1, state.first_seq);
    if (start > state.last_seq) continue;
    const consumer = await js.consumers.get(stream.streamName, {
      filter_subjects: subject,
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: start,
    });
    try {
      await drain(consumer, state.last_seq, req);
    } finally {
      await consumer.delete().catch(() => undefined);
    }
  }
}

/**
 * Fetches until the consumer reached `head` or has nothing pending. A fetch waits until it has its
 * batch or expires, so the read stops itself at the last message instead of waiting that out.
 */
async function drain(
  consumer: Awaited<ReturnType<ReturnType<typeof jetstream>["consumers"]["get"]>>,
  head: number,
  req: ReplayRequest,
): Promise<void> {
  for (;;) {
    if (req.signal.aborted) return;
    const batch: BrokerEvent[] = [];
    let done = true;
    const messages = await consumer.fetch({ max_messages: REPLAY_BATCH, expires: FETCH_EXPIRES_MS });
    for await (const m of messages) {
      const headers = headersOf(m.headers);
      batch.push({
        topic: m.subject,
        data: m.data,
        position: String(m.seq),
        ...(headers ? { headers } : {}),
      });
      done = m.seq >= head || m.info.pending === 0;
      if (done || batch.length === REPLAY_BATCH) break;
    }
    if (batch.length > 0) await req.onEvents(batch);
    if (done) return;
  }
}
