/**
 * The publish side: stamps `performance.timeOrigin + performance.now()` into each event id and sends
 * it through the broker (lib/brokers.mjs: every stack consumes the same subject), or for Streamgate
 * on `memory://` through its publish mutation over HTTP.
 */
export const stamp = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Streamgate's publishEmployee mutation over HTTP (the broker-less memory:// path). */
export function httpPublisher(graphqlUrl) {
  const inflight = new Set();
  const query = "mutation($t: ID!, $id: ID!) { publishEmployee(topic: $t, id: $id) { success } }";
  return {
    kind: "http-mutation",
    publish(topic, id) {
      const p = fetch(graphqlUrl, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ query, variables: { t: topic, id } }),
      })
        .then((r) => r.text())
        .finally(() => inflight.delete(p));
      inflight.add(p);
    },
    flush: () => Promise.all([...inflight]),
    close: async () => {},
  };
}

/** Pads an id to about `bytes` bytes (scenario 6's 1 KB events). */
export function padding(bytes) {
  return bytes > 40 ? `:${"x".repeat(bytes - 40)}` : "";
}

/**
 * Publishes `count` events per topic at `rate` events/s (each tick publishes one event to every
 * topic), starting at sequence `seq0`. Returns the number of events per topic and the achieved rate.
 */
export async function publishAtRate(pub, { topics, rate, count, seq0, pad = "" }) {
  const interval = 1000 / rate;
  const t0 = performance.now();
  let seq = seq0;
  let lateMs = 0;
  for (let i = 0; i < count; i++) {
    const due = t0 + i * interval;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    else lateMs = Math.max(lateMs, -wait);
    const s = seq++;
    for (const t of topics) pub.publish(t, `${s}:${stamp()}${pad}`);
    // Let the NATS client write between ticks even when we are late.
    if (wait <= 1 && i % 50 === 49) await sleep(0);
  }
  await pub.flush();
  const secs = (performance.now() - t0) / 1000;
  return {
    events: count,
    seconds: secs,
    achievedRate: count / Math.max(secs, interval / 1000),
    maxLateMs: lateMs,
  };
}

/**
 * Publishes `rate` events/s in total for `seconds`, spread round robin over `topics` starting at
 * `topics[start % k]` (scenario 3), sequence numbers from `seq0`. Paced in ~1 ms ticks, each
 * publishing what is due by then: a late tick catches up with a burst, and a publisher that cannot
 * keep up shows as an achieved rate below `rate` (the wall time to publish them all is longer than
 * `seconds`). Returns the events per topic, for the per-client delivery check.
 */
export async function publishSpread(pub, { topics, rate, seconds, seq0, start = 0 }) {
  const total = Math.max(1, Math.round(rate * seconds));
  const perTopic = {};
  const t0 = performance.now();
  let sent = 0;
  let maxBurst = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor((rate * (performance.now() - t0)) / 1000) + 1);
    maxBurst = Math.max(maxBurst, due - sent);
    for (; sent < due; sent++) {
      const topic = topics[(start + sent) % topics.length];
      pub.publish(topic, `${seq0 + sent}:${stamp()}`);
      perTopic[topic] = (perTopic[topic] ?? 0) + 1;
    }
    await sleep(1);
  }
  const publishSecs = (performance.now() - t0) / 1000;
  await pub.flush();
  return {
    events: total,
    perTopic,
    publishSeconds: publishSecs,
    achievedRate: total / Math.max(publishSecs, seconds),
    // The largest burst, in ms of schedule: how far behind the publisher fell at worst.
    maxLateMs: ((maxBurst - 1) * 1000) / rate,
  };
}

/**
 * Publishes warm-up events ("w<k>:<ts>") on every topic every `everyMs` until every client has
 * received one (its subscription is live on the server), or `timeoutMs` passes.
 */
export async function warmUp(pub, gen, { topics, expect, everyMs = 250, timeoutMs = 60_000 }) {
  const t0 = performance.now();
  await gen.all("resetWarm");
  let k = 0;
  let status = await gen.status();
  while (status.warm < expect) {
    if (performance.now() - t0 > timeoutMs) break;
    for (const t of topics) pub.publish(t, `w${k}:${stamp()}`);
    k++;
    await pub.flush();
    await sleep(everyMs);
    status = await gen.status();
  }
  // Let in-flight warm-up frames land before a measured phase starts.
  await sleep(Math.min(1000, everyMs * 2));
  return { ms: performance.now() - t0, warm: status.warm, expect, ok: status.warm >= expect };
}
