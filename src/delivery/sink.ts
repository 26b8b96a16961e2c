/**
 * One at-least-once subscription's side of delivery (spec/delivery.md): it says on the first
 * `next` what the client actually gets (`extensions.delivery`, and `extensions.gap` after a resume
 * past retention), and for a resumed subscription it holds live events back while the broker
 * replays what the client missed, then hands over without a gap or a duplicate at the seam, by
 * position. Subscriptions that start fresh pay one flag per event; at-most-once providers never
 * get one of these.
 */
import type { EventMeta, OperationSink } from "../engine/types.js";
import type { PlanError } from "../planner/plan.js";
import type { Positions } from "./cursor.js";

/** `extensions.delivery` (delivery.md): what was asked for, what the client gets, and why not. */
export interface DeliveryReport {
  readonly guarantee: "at_least_once";
  readonly achieved: "at_least_once" | "at_most_once";
  readonly reason?: string;
}

/** Appends `extensions.cursor` to a serialized ExecutionResult (which never has top-level extensions). */
export function withCursor(json: string, cursor: string): string {
  return `${json.slice(0, -1)},"extensions":{"cursor":${JSON.stringify(cursor)}}}`;
}

export class DeliverySink implements OperationSink {
  private first: boolean;
  private gap = false;
  /** Set while a replay runs: live events wait here. */
  private held: [string, EventMeta | undefined][] | undefined;
  /** For a resumed subscription: the last position delivered per partition (dedupe at the seam). */
  private readonly last: Record<string, number> | undefined;

  constructor(
    private readonly inner: OperationSink,
    /** Said on the first event; undefined where another sink says it (a worker's forwarded group). */
    private readonly report: DeliveryReport | undefined,
    /** The positions of the cursor this subscription resumes from, if any. */
    resumeAfter?: Positions,
  ) {
    this.first = report !== undefined;
    if (resumeAfter) {
      this.last = { ...resumeAfter };
      this.held = [];
    }
  }

  /** Whether live events are held for a replay. */
  get replaying(): boolean {
    return this.held !== undefined;
  }

  /** A live event from the trigger. */
  next(json: string, meta?: EventMeta): void {
    if (this.held) this.held.push([json, meta]);
    else this.deliver(json, meta);
  }

  /** A replayed event (only this subscription receives it). */
  replayed(json: string, meta: EventMeta): void {
    this.deliver(json, meta);
  }

  /** Events the client needed were gone (retention, a replay that failed): its next event says so. */
  markGap(): void {
    this.gap = true;
  }

  /** The replay reached where live events began: deliver those held, minus what was replayed. */
  live(): void {
    const held = this.held;
    if (!held) return;
    this.held = undefined;
    for (const [json, meta] of held) this.deliver(json, meta);
  }

  error(errors: readonly PlanError[]): void {
    this.held = undefined;
    this.inner.error(errors);
  }

  complete(): void {
    this.held = undefined;
    this.inner.complete();
  }

  private deliver(json: string, meta: EventMeta | undefined): void {
    if (meta && this.last) {
      const seen = this.last[meta.position.key];
      if (seen !== undefined && meta.position.offset <= seen) return; // replayed already
      this.last[meta.position.key] = meta.position.offset;
    }
    if (meta?.gap) this.gap = true;
    if (!this.first && !this.gap) {
      this.inner.next(json, meta);
      return;
    }
    const extra: string[] = [];
    if (this.first) extra.push(`"delivery":${JSON.stringify(this.report)}`);
    if (this.gap) extra.push('"gap":true');
    this.first = false;
    this.gap = false;
    // An at-least-once result ends with the extensions withCursor() appended; others have none.
    const decorated = meta
      ? `${json.slice(0, -2)},${extra.join(",")}}}`
      : `${json.slice(0, -1)},"extensions":{${extra.join(",")}}}`;
    this.inner.next(decorated, meta);
  }
}
