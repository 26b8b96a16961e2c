/** The one fan-out loop: the same bytes to every subscriber, one faulty subscriber contained. */

import type { EventMeta } from "../engine/types.js";

/** Receives serialized ExecutionResults for one client subscription. Must not throw. */
export interface Subscriber {
  next(payloadJson: string, meta?: EventMeta): void;
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
