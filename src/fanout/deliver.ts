/** The one fan-out loop: the same bytes to every subscriber, one faulty subscriber contained. */

import type { EventMeta } from "../engine/types.js";
import type { PlanError } from "../planner/plan.js";

/** Receives serialized ExecutionResults for one client subscription. Must not throw. */
export interface Subscriber {
  next(payloadJson: string, meta?: EventMeta): void;
}

/**
 * Thrown or rejected by a group's resolver (or a trigger's batch transform) to end every
 * subscription it serves with `errors`, rather than skip the event.
 */
export class GroupFailure extends Error {
  constructor(readonly errors: readonly PlanError[]) {
    super(errors[0]?.message ?? "subscriptions ended");
    this.name = "GroupFailure";
  }
}

/** Hands `json` to each subscriber; returns how many took it. A throwing one is reported, not fatal. */
export function deliverAll(
  subscribers: Iterable<Subscriber>,
  json: string,
  meta: EventMeta | undefined,
  onError: (err: unknown) => void,
): number {
  let delivered = 0;
  for (const s of subscribers) {
    try {
      s.next(json, meta);
      delivered++;
    } catch (err) {
      onError(err);
    }
  }
  return delivered;
}

/**
 * Ends each subscription that can be ended with `errors` (a copy: they leave as they go). The
 * callbacks are kept apart from the subscribers, so the delivery loop never pays for them.
 */
export function failAll(
  ends: ReadonlyMap<Subscriber, (errors: readonly PlanError[]) => void>,
  errors: readonly PlanError[],
  onError: (err: unknown) => void,
): void {
  for (const end of [...ends.values()]) {
    try {
      end(errors);
    } catch (err) {
      onError(err);
    }
  }
}
