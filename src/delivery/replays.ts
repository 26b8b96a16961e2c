/**
 * One replay read from the broker for every client resuming the same trigger from the same
 * position (spec/delivery.md). After a router restart thousands of clients come back at once with
 * the same cursor: without this, each would open its own broker consumer and read the same events
 * (a herd the broker answers slowly enough to run into `resume_timeout`). Here the first resume
 * reads; the others join while it runs, get what was read so far, then what follows.
 *
 * Resolution is shared the way the live path shares it: once per event per group (same operation,
 * variables and claim-dependent filter), and an event's `_entities` fetches are merged across
 * groups through its scope's memo. Delivery stays per client, in order, through its own
 * DeliverySink (which drops at the seam what the live trigger also delivered).
 *
 * A client that joins after a read took its end position (the broker's head when the read began)
 * may have missed live events between that head and its own subscription: the replay then reads
 * once more, from where it stopped to the new head, before anyone goes live.
 */
import type { EventMeta } from "../engine/types.js";
import { ErrorCode, StreamgateError } from "../errors.js";
import {
  type EventScope,
  GroupFailure,
  type GroupResolver,
  type TransformedEvent,
  type TriggerReceive,
} from "../fanout/triggers.js";
import type { PlanError } from "../planner/plan.js";
import { decodeEvent } from "../planner/event.js";
import type { BrokerEvent, ReplayRequest } from "../providers/provider.js";
import type { Positions } from "./cursor.js";
import type { PositionCursors } from "./cursors.js";
import { type DeliverySink, withCursor } from "./sink.js";

/** One resuming subscription. */
export interface ReplayMember {
  /** Members with the same group key resolve each event once between them. */
  readonly groupKey: string;
  readonly resolve: GroupResolver;
  readonly sink: DeliverySink;
  /** Aborted when the client leaves. */
  readonly signal: AbortSignal;
}

/** What a shared replay needs from the delivery service. */
export interface ReplaySource {
  /** Reads from the broker (ReplayRequest minus what this module fills in). */
  read(req: Pick<ReplayRequest, "after" | "onEvents" | "onGap" | "signal">): Promise<void>;
  /** Cursors starting at the resume position: advances per event read. */
  readonly cursors: PositionCursors;
  /** Waits for a replay slot of the provider (undefined: everyone left while waiting). */
  acquire(signal: AbortSignal): Promise<(() => void) | undefined>;
  readonly timeoutMs: number;
  /** The trigger's batch transform (stream hooks), run on replayed batches too. */
  readonly receive: TriggerReceive | undefined;
  /** A broker read starts (one per shared replay, one more per catch-up read for late joiners). */
  readonly onRead: () => void;
  readonly onReplayed: () => void;
  readonly onGap: () => void;
  readonly onFailed: (err: unknown) => void;
}

interface Recorded {
  readonly item: TransformedEvent;
  readonly meta: EventMeta;
  readonly scope: EventScope;
  /** Per group key: the event resolved for that group, with its cursor (one string per group). */
  readonly results: Map<string, Promise<string | null>>;
}

/**
 * One member's deliveries, in broker order. A queue and one pump per member rather than a promise
 * chained per event: a herd of 10,000 clients each missing 40 events would otherwise hold 400,000
 * closures and promises at once (measured: `npm run bench -- herd`, bench/results/herd-ab).
 */
interface Joined {
  readonly member: ReplayMember;
  readonly queue: (Recorded | typeof GAP)[];
  /** Index of the next queue entry to deliver. */
  head: number;
  /** Set while the pump runs. */
  pumping: Promise<void> | undefined;
  /** The first resolution that failed for this member: it goes live with a gap. */
  failed: unknown;
  readonly done: () => void;
}

const ignore = (): void => {};

/** Where the broker said events before the next one are gone (retention, a buffer's lost writer). */
const GAP = Symbol("gap");

/**
 * Events kept for clients that join a running replay. Past this, the replay stops taking joiners
 * and forgets what it read (later resumes read for themselves): memory stays bounded by it
 * whatever the number of events missed.
 */
const MAX_RECORDED = 10_000;

export class SharedReplay {
  private readonly members = new Set<Joined>();
  /** What was read so far, in order: events and the gaps between them. */
  private readonly events: (Recorded | typeof GAP)[] = [];
  /** Accepts joiners until the last read is over. */
  private open = true;
  /** Whether events are kept for joiners (until MAX_RECORDED). */
  private recording = true;
  private joinedDuringRead = false;
  /** Aborted when every member left: the read stops. */
  private readonly everyoneLeft = new AbortController();
  /** Batch transforms run one at a time, in order. */
  private transforming: Promise<void> = Promise.resolve();

  constructor(
    private readonly source: ReplaySource,
    private readonly after: Positions,
    private readonly onClosed: () => void,
  ) {}

  get accepting(): boolean {
    return this.open;
  }

  /** Adds a resuming client: it gets every event read so far, then the rest; resolves once it is live. */
  join(member: ReplayMember): Promise<void> {
    return new Promise((resolve) => {
      const joined: Joined = {
        member,
        queue: [],
        head: 0,
        pumping: undefined,
        failed: undefined,
        done: resolve,
      };
      this.members.add(joined);
      this.joinedDuringRead = true;
      for (const rec of this.events) {
        if (rec === GAP) this.markGap(joined);
        else this.feed(joined, rec);
      }
      member.signal.addEventListener("abort", () => this.leave(joined), { once: true });
      if (member.signal.aborted) this.leave(joined);
    });
  }

  /** Reads until no one joined during the last read, then lets every member go live. */
  async run(): Promise<void> {
    let failure: unknown;
    const release = await this.source.acquire(this.everyoneLeft.signal);
    try {
      if (!release) return;
      let after = this.after;
      for (;;) {
        this.joinedDuringRead = false;
        await this.read(after);
        await this.transforming;
        // Joiners during the read may lack events between its end and their subscription.
        if (!this.joinedDuringRead || this.everyoneLeft.signal.aborted) break;
        after = this.source.cursors.snapshot();
      }
    } catch (err) {
      // A hook's `error` policy may surface as whatever the provider made of the rejected batch.
      failure = await this.transforming.then(
        () => err,
        (e: unknown) => (e instanceof GroupFailure ? e : err),
      );
    } finally {
      this.close();
      release?.();
    }
    await this.finish(failure);
  }

  private async read(after: Positions): Promise<void> {
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), this.source.timeoutMs);
    const signal = AbortSignal.any([this.everyoneLeft.signal, timeout.signal]);
    this.source.onRead();
    try {
      await this.source.read({
        after,
        signal,
        onEvents: (events) => this.onEvents(events),
        onGap: () => {
          if (this.recording) this.events.push(GAP);
          for (const j of this.members) this.markGap(j);
        },
      });
    } finally {
      clearTimeout(timer);
    }
    if (timeout.signal.aborted && !this.everyoneLeft.signal.aborted)
      throw new StreamgateError(ErrorCode.PROVIDER_UNAVAILABLE, "replay timed out");
  }

  /** Records a broker batch and feeds it to every member; the returned promise paces the read. */
  private onEvents(events: readonly BrokerEvent[]): Promise<void> {
    const receive = this.source.receive;
    if (!receive) {
      const items = events.map((raw, i) => ({ decoded: decodeEvent(raw.data), raw, source: i }));
      return this.record(
        events.map((ev) => this.source.cursors.advance(ev)),
        items,
      );
    }
    this.transforming = this.transforming.then(async () => {
      const out = await receive.transform(
        events,
        events.map((ev) => decodeEvent(ev.data)),
      );
      const metas = events.map((ev) => this.source.cursors.advance(ev));
      if (!out.ok) throw new GroupFailure(out.errors);
      await this.record(metas, out.events);
    });
    return this.transforming;
  }

  private record(
    metas: readonly (EventMeta | undefined)[],
    items: readonly TransformedEvent[],
  ): Promise<void> {
    const resolving: Promise<unknown>[] = [];
    for (const item of items) {
      // Events a hook added carry no position: they are not replayed.
      const meta = item.source === undefined ? undefined : metas[item.source];
      if (!meta) continue;
      const rec: Recorded = {
        item,
        meta,
        scope: { memo: new Map(), receivedAt: performance.now(), meta },
        results: new Map(),
      };
      if (this.recording) this.events.push(rec);
      for (const j of this.members) this.feed(j, rec);
      for (const r of rec.results.values()) resolving.push(r);
    }
    if (this.recording && this.events.length > MAX_RECORDED) {
      this.recording = false;
      this.events.length = 0;
      this.close();
    }
    return Promise.allSettled(resolving).then(ignore);
  }

  /** Queues `rec` for one member, resolving it for the member's group if no one did yet. */
  private feed(j: Joined, rec: Recorded): void {
    const { member } = j;
    if (!rec.results.has(member.groupKey)) {
      const result = Promise.resolve()
        .then(() => member.resolve(rec.item.decoded, rec.item.raw, rec.scope))
        .then((json) => (json === null ? null : withCursor(json, rec.meta.cursor)));
      // Awaited in order by the members' pumps, maybe after it settled: not unhandled meanwhile.
      result.catch(ignore);
      rec.results.set(member.groupKey, result);
    }
    this.enqueue(j, rec);
  }

  /** The gap lands after the events read before it: queued behind their deliveries. */
  private markGap(j: Joined): void {
    this.enqueue(j, GAP);
  }

  private enqueue(j: Joined, item: Recorded | typeof GAP): void {
    if (j.failed !== undefined) return; // it goes live with a gap: nothing more to deliver
    j.queue.push(item);
    // Started on a microtask so `pumping` is set before the pump can finish and clear it.
    j.pumping ??= Promise.resolve().then(() => this.pump(j));
  }

  private async pump(j: Joined): Promise<void> {
    const { member } = j;
    try {
      while (j.head < j.queue.length) {
        const item = j.queue[j.head++]!;
        if (item === GAP) {
          if (member.signal.aborted) continue;
          this.source.onGap();
          member.sink.markGap();
          continue;
        }
        let json: string | null;
        try {
          json = await item.results.get(member.groupKey)!;
        } catch (err) {
          j.failed = err ?? "failed";
          break;
        }
        if (json === null || member.signal.aborted) continue;
        this.source.onReplayed();
        member.sink.replayed(json, item.meta);
      }
    } finally {
      j.queue.length = 0;
      j.head = 0;
      j.pumping = undefined;
    }
  }

  /** Resolves once every delivery queued for `j` so far was made. */
  private async drained(j: Joined): Promise<void> {
    while (j.pumping) await j.pumping;
  }

  private leave(j: Joined): void {
    if (!this.members.delete(j)) return;
    j.done();
    if (this.members.size === 0) {
      // No one left to read for: no one may join a read that is stopping either.
      this.close();
      this.everyoneLeft.abort();
    }
  }

  private close(): void {
    if (!this.open) return;
    this.open = false;
    this.onClosed();
  }

  /** Each member's deliveries done: it goes live, with a gap if the read or its resolution failed. */
  private async finish(failure: unknown): Promise<void> {
    const members = [...this.members];
    this.members.clear();
    await Promise.all(
      members.map(async (j) => {
        const { sink, signal } = j.member;
        await this.drained(j);
        const err = failure ?? j.failed;
        if (signal.aborted) return j.done();
        if (err instanceof GroupFailure) {
          // A hook's `error` policy: the subscription is over, not resumed with a gap.
          sink.error(err.errors as readonly PlanError[]);
          return j.done();
        }
        if (err !== undefined) {
          this.source.onGap();
          sink.markGap();
        }
        sink.live();
        j.done();
      }),
    );
    if (failure !== undefined && !(failure instanceof GroupFailure)) this.source.onFailed(failure);
  }
}
