/**
 * Scenario resume (issue 11): how long a client that missed `--missed` events (default 1,000) takes
 * to catch up after it resumes from its cursor, over `--trials` trials (default 20), on JetStream
 * with `delivery: at_least_once`.
 *
 * Each trial: a probe client subscribes and receives one warm-up event (its cursor); it drops
 * (terminate, no close handshake); the publisher stores `missed` events (every PubAck awaited) and
 * the other subscribers receive them; the probe connects again and, once acknowledged, sends
 * `subscribe` with the cursor: the time from that send to the last missed event's arrival is the
 * figure (also: to the first event, and the connect before it, apart). The probe must receive exactly those events, in order, once each, without
 * `extensions.gap`. Meanwhile `--clients` other subscribers (default 10, on the generator) hold
 * the trigger live, as other users of a topic do, and must receive every event once, in order;
 * `--clients 0` measures the resume of a trigger nobody else holds.
 *
 * The probe runs in this process with a plain `ws` socket and reads frames as bytes (no JSON.parse
 * per event), so its own cost stays small next to the figure.
 */
import WebSocket from "ws";
import { cursorOf, parseId, subscribeMessage } from "../lib/gen-client.mjs";
import { mb, round1, sleep } from "../lib/harness.mjs";
import { stamp } from "../lib/publisher.mjs";
import { checkCursors, checkStats, drain, percentiles, readMetrics } from "./common.mjs";

const T_NEXT = Buffer.from('"type":"next"');
const ID_MARK = Buffer.from('"id":"');
const GAP_MARK = Buffer.from('"gap":true');

/** One graphql-transport-ws connection of the probe; `events` are [seq, at] of measured nexts. */
function probe(url, query, variables) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, "graphql-transport-ws", { perMessageDeflate: false });
    const p = { ws, events: [], warm: 0, cursor: undefined, gap: false, errors: [], onEvent: undefined };
    const timer = setTimeout(() => reject(new Error("probe: no connection_ack in 10 s")), 10_000);
    ws.on("open", () => ws.send('{"type":"connection_init"}'));
    ws.on("error", (err) => p.errors.push(`socket error: ${err.message}`));
    ws.on("close", (code) => {
      if (!p.closing) p.errors.push(`unexpected close ${code}`);
    });
    ws.on("message", (data) => {
      if (data.indexOf(T_NEXT) < 0) {
        const text = data.toString();
        if (text.includes('"connection_ack"')) {
          clearTimeout(timer);
          resolve(p);
        } else if (text.includes('"type":"ping"')) ws.send('{"type":"pong"}');
        else if (!text.includes('"type":"pong"')) p.errors.push(`frame: ${text.slice(0, 300)}`);
        return;
      }
      const at = performance.now();
      const [seq] = parseId(data, data.lastIndexOf(ID_MARK) + ID_MARK.length);
      p.cursor = cursorOf(data) ?? p.cursor;
      if (data.indexOf(GAP_MARK) >= 0) p.gap = true;
      if (seq < 0) p.warm++;
      else p.events.push([seq, at]);
      p.onEvent?.(seq);
    });
    p.subscribe = (cursor) => ws.send(subscribeMessage(1, query, variables, cursor));
    p.close = () => {
      p.closing = true;
      ws.terminate();
    };
  });
}

/** Resolves once `pred()` holds (checked on every event of `p`), or rejects after `ms`. */
function until(p, pred, ms, what) {
  return new Promise((resolve, reject) => {
    if (pred()) return resolve();
    const timer = setTimeout(() => {
      p.onEvent = undefined;
      reject(new Error(`probe: ${what} not within ${ms} ms`));
    }, ms);
    p.onEvent = () => {
      if (!pred()) return;
      clearTimeout(timer);
      p.onEvent = undefined;
      resolve();
    };
  });
}

async function trial(ctx, opts, { topic, seq0, k, keepersBefore }) {
  const variables = ctx.client.variables === false ? undefined : { id: topic };
  const first = await probe(ctx.url, ctx.query, variables);
  first.subscribe();
  // Warm-up events until the probe's subscription is live; its cursor is then the resume point.
  for (let w = 0; first.warm === 0; w++) {
    if (w >= 40) throw new Error("probe: its subscription never became live (no warm-up event in 10 s)");
    ctx.pub.publish(topic, `w${k * 1000 + w}:${stamp()}`);
    await ctx.pub.flush();
    await sleep(250);
  }
  const cursor = first.cursor;
  first.close();
  if (!cursor) throw new Error("probe: warm-up event without extensions.cursor");
  await sleep(100);
  for (let i = 0; i < opts.missed; i++) ctx.pub.publish(topic, `${seq0 + i}:${stamp()}`);
  await ctx.pub.flush();
  // The other subscribers get the burst live first, so the figure is the resume's alone.
  if (opts.clients > 0)
    await drain(ctx.gen, keepersBefore + opts.missed * opts.clients, { stallMs: 5000, maxMs: 60_000 });
  const c0 = performance.now();
  const second = await probe(ctx.url, ctx.query, variables);
  const t0 = performance.now();
  const last = seq0 + opts.missed - 1;
  const reached = () => second.events.length > 0 && second.events[second.events.length - 1][0] >= last;
  second.subscribe(cursor);
  let timedOut;
  await until(second, reached, opts.resumeTimeoutMs, `event ${last}`).catch((err) => {
    timedOut = err.message;
  });
  const t1 = performance.now();
  await sleep(50); // a duplicate would land now
  second.close();
  const seqs = second.events.map((e) => e[0]);
  const problems = [...first.errors, ...second.errors.filter((e) => !e.startsWith("unexpected close"))];
  if (timedOut) problems.push(timedOut);
  const exact = seqs.length === opts.missed && seqs.every((s, i) => s === seq0 + i);
  if (!exact)
    problems.push(
      `received ${seqs.length} events (${seqs.slice(0, 3).join(",")}…${seqs.slice(-3).join(",")}), expected ${seq0}..${last} once each in order`,
    );
  if (second.gap) problems.push("extensions.gap on a resume within retention");
  return {
    connectMs: round1(t0 - c0),
    firstEventMs: second.events.length ? round1(second.events[0][1] - t0) : null,
    caughtUpMs: timedOut ? null : round1(t1 - t0),
    received: seqs.length,
    problems,
  };
}

export default {
  number: 95,
  name: "resume",
  defaults: {
    clients: 10,
    duration: 0,
    trials: 20,
    missed: 1000,
    broker: "jetstream",
    stacks: ["streamgate-alo"],
  },
  async run(ctx, opts) {
    const failures = [];
    if (!ctx.cursors) failures.push(`${ctx.stackName} gives no cursors: resume needs an at-least-once stack`);
    const connect = opts.clients > 0 ? await ctx.connect() : { clients: 0, allLive: true };
    if (!connect.allLive) failures.push(`only ${connect.live}/${opts.clients} subscribers became live`);
    if (failures.length) return { failures, figures: { ...connect } };
    await ctx.gen.all("reset");
    const topic = ctx.topics[0];
    const trials = [];
    let seq = 1;
    for (let k = 0; k < opts.trials; k++) {
      const t = await trial(ctx, opts, { topic, seq0: seq, k, keepersBefore: (seq - 1) * opts.clients });
      seq += opts.missed;
      trials.push(t);
      failures.push(...t.problems.map((p) => `trial ${k + 1}: ${p}`));
      process.stderr.write(
        `[bench resume] trial ${k + 1}/${opts.trials}: caught up in ${t.caughtUpMs ?? "–"} ms (first event ${t.firstEventMs ?? "–"} ms)${t.problems.length ? ` FAILED: ${t.problems.join("; ")}` : ""}\n`,
      );
    }
    const published = seq - 1;
    let keepers = null;
    if (opts.clients > 0) {
      const expected = published * opts.clients;
      await drain(ctx.gen, expected, { stallMs: 5000, maxMs: opts.drainTimeoutMs });
      const stats = await ctx.gen.stats({ [topic]: published });
      failures.push(...checkStats(stats, "subscribers"), ...checkCursors(ctx, stats, "subscribers"));
      if (stats.received !== expected) failures.push(`subscribers: delivered ${stats.received}/${expected}`);
      keepers = { expected, delivered: stats.received, latencyMs: stats.latency };
    }
    const metrics = await readMetrics(ctx.started.port, [
      "streamgate_delivery_resumes_total",
      "streamgate_delivery_replayed_events_total",
      "streamgate_delivery_gaps_total",
    ]);
    const caught = trials.map((t) => t.caughtUpMs).filter((x) => x !== null);
    return {
      failures,
      figures: {
        trials: opts.trials,
        missed: opts.missed,
        subscribers: opts.clients,
        caughtUpMs: percentiles(caught),
        firstEventMs: percentiles(trials.map((t) => t.firstEventMs).filter((x) => x !== null)),
        connectMs: percentiles(trials.map((t) => t.connectMs)),
        replayedEventsPerSec: caught.length
          ? Math.round((opts.missed * caught.length * 1000) / caught.reduce((a, b) => a + b, 0))
          : null,
        published,
        keepers,
        routerMetrics: metrics,
        rssMB: mb(ctx.rss()),
        perTrial: trials.map(({ problems, ...t }) => t),
      },
    };
  },
};
