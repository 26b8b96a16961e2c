/**
 * Durations in the config file: "500ms", "10s", "1.5s", "5m", "1h", sequences such as "1m30s"
 * (as Go's time.ParseDuration, which Cosmo router configs use), "0", or a non-negative integer
 * number of milliseconds. The JSON Schema pattern in schema.json accepts exactly the same strings.
 */

import { ErrorCode, StreamgateError } from "../errors.js";

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
const WHOLE = /^(?:0|(?:\d+(?:\.\d+)?(?:ms|s|m|h))+)$/;
const PART = /(\d+)(?:\.(\d+))?(ms|s|m|h)/g;

/** Milliseconds for a duration string or integer; throws CONFIG_INVALID on anything else. */
export function parseDuration(value: string | number): number {
  if (typeof value === "number") {
    if (Number.isSafeInteger(value) && value >= 0) return value;
    throw new StreamgateError(
      ErrorCode.CONFIG_INVALID,
      `invalid duration ${value}: a number must be a non-negative integer of milliseconds`,
    );
  }
  if (typeof value !== "string" || !WHOLE.test(value)) {
    throw new StreamgateError(
      ErrorCode.CONFIG_INVALID,
      `invalid duration ${JSON.stringify(value)}: expected e.g. 500ms, 10s, 1.5s, 5m, 1h or 1m30s`,
    );
  }
  let total = 0;
  for (const [, whole, fraction, unit] of value.matchAll(PART)) {
    const factor = UNIT_MS[unit as string] as number;
    // Integer and fraction apart so "1.1s" is 1100 and not 1100.0000000000002.
    total += Number(whole) * factor;
    if (fraction) total += (Number(fraction) * factor) / 10 ** fraction.length;
  }
  // Sub-millisecond remainders ("1.0005s") are kept to the microsecond; beyond that is noise.
  total = Math.round(total * 1000) / 1000;
  if (!Number.isFinite(total))
    throw new StreamgateError(
      ErrorCode.CONFIG_INVALID,
      `invalid duration ${JSON.stringify(value)}: too large`,
    );
  return total;
}
