/**
 * The generator worker's commands for scenario herd (tracking clients, lib/gen-client.mjs): expect
 * the router's death, resume every client from its last cursor at once (retrying like a client SDK
 * with backoff and jitter when a connection fails), and count what each client saw.
 */
import { now } from "./gen-client.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function herdOps({ clients, pool, localAddressOf, clientKind }) {
  return {
    /** The router is about to be killed: its closes are expected, not errors. */
    async armDrop() {
      for (const c of clients) c.expectClose = true;
      return { armed: clients.length };
    },

    /** How many clients saw their socket end (all of them, after a SIGKILL of the router). */
    async dropped() {
      return { closed: clients.filter((c) => c.closed).length, clients: clients.length };
    },

    /**
     * Reconnects every client to `url` (at most `concurrency` handshakes in flight in this worker)
     * and subscribes with its last cursor. `target`: the last event published before the resume
     * started; a client is caught up when it holds every event 1..target. Times are ms after `t0`.
     */
    async resume({ url, query, concurrency, target, t0, retries = 30 }) {
      let failed = 0;
      let attempts = 0;
      let noCursor = 0;
      for (const c of clients) {
        c.target = target;
        c.caughtUpAt = c.contig >= target ? now() : 0;
        c.resumeFrom = c.cursor;
        if (!c.cursor) noCursor++;
      }
      await pool(clients, concurrency, async (c) => {
        c.retrying = true;
        for (let k = 0; ; k++) {
          attempts++;
          const ok = await c.connect(url, query, localAddressOf(c.index), clientKind);
          if (ok) break;
          if (k >= retries) {
            failed++;
            break;
          }
          await sleep(Math.min(2000, 100 * 2 ** k) * (0.5 + Math.random()));
        }
        c.retrying = false;
      });
      return {
        failed,
        attempts,
        noCursor,
        acks: clients.filter((c) => c.acked).map((c) => c.ackAt - t0),
      };
    },

    /**
     * Cheap progress for the drain: clients caught up with `target` and with all `events`, and the
     * distinct events held over all clients (what moves while nobody is complete yet).
     */
    async herdProgress({ events }) {
      let caughtUp = 0;
      let complete = 0;
      let distinct = 0;
      for (const c of clients) {
        if (c.caughtUpAt > 0) caughtUp++;
        if (c.contig >= events) complete++;
        distinct += c.distinct;
      }
      return { caughtUp, complete, distinct, clients: clients.length };
    },

    /** Per-worker totals: every client must hold every event 1..events (duplicates allowed). */
    async herdStats({ events, t0 }) {
      const out = {
        clients: clients.length,
        complete: 0,
        missingClients: 0,
        missingEvents: 0,
        duplicates: 0,
        clientsWithDuplicates: 0,
        beyond: 0, // events numbered past `events`: would mean the expected set is wrong
        open: 0,
        caughtUpMs: [],
        notCaughtUp: 0,
        missingSamples: [],
      };
      for (const c of clients) {
        if (!c.closed) out.open++;
        const have = c.contig >= events ? events : countUpTo(c, events);
        if (have === events) out.complete++;
        else {
          out.missingClients++;
          out.missingEvents += events - have;
          if (out.missingSamples.length < 5)
            out.missingSamples.push(`client ${c.index}: ${have}/${events}, first missing ${c.contig + 1}`);
        }
        if (c.maxSeq > events) out.beyond++;
        out.duplicates += c.dups;
        if (c.dups > 0) out.clientsWithDuplicates++;
        if (c.caughtUpAt > 0) out.caughtUpMs.push(c.caughtUpAt - t0);
        else out.notCaughtUp++;
      }
      return out;
    },
  };
}

/** Distinct events 1..n a tracking client holds. */
function countUpTo(c, n) {
  let k = 0;
  for (let s = 1; s <= n; s++) if (c.has(s)) k++;
  return k;
}
