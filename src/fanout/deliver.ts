/** The one fan-out loop: the same bytes to every subscriber, one faulty subscriber contained. */

/** Receives serialized ExecutionResults for one client subscription. Must not throw. */
export interface Subscriber {
  next(payloadJson: string): void;
}

/** Hands `json` to each subscriber; returns how many took it. A throwing one is reported, not fatal. */
export function deliverAll(
  subscribers: Iterable<Subscriber>,
  json: string,
  onError: (err: unknown) => void,
): number {
  let delivered = 0;
  for (const s of subscribers) {
    try {
      s.next(json);
      delivered++;
    } catch (err) {
      onError(err);
    }
  }
  return delivered;
}
