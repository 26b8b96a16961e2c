/**
 * Which worker owns a trigger: rendezvous (highest random weight) hashing over the live workers.
 * Every worker computes the same owner from the same live set without coordination, and when a
 * worker leaves only the keys it owned move (each to its second-highest worker).
 */

import { ErrorCode, StreamgateError } from "../errors.js";

/** 32-bit FNV-1a over `worker:key`; good enough spread for ownership, and stable across runs. */
function weight(worker: number, key: string): number {
  let h = 0x811c9dc5;
  const s = `${worker}:${key}`;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  // A final avalanche: FNV's low bits alone correlate for keys that differ only at the end.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h >>> 0;
}

/** The owner of `key` among `live` (non-empty); ties go to the lower index. */
export function ownerOf(key: string, live: Iterable<number>): number {
  let best = -1;
  let bestWeight = -1;
  for (const w of live) {
    const x = weight(w, key);
    if (x > bestWeight || (x === bestWeight && w < best)) {
      best = w;
      bestWeight = x;
    }
  }
  if (best < 0) throw new StreamgateError(ErrorCode.WORKER_FAILED, "ownerOf: no live workers");
  return best;
}
