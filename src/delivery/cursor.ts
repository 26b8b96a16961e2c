/**
 * Cursors (spec/delivery.md): an opaque, HMAC-signed token naming where a client stands in a
 * trigger's event sources, so any instance sharing the broker and `delivery.cursor_secret` can
 * resume it. The body is small JSON, base64url: the provider id, a fingerprint of the trigger
 * (so a cursor cannot be replayed against topics the operation does not read) and the last
 * delivered position per partition (JetStream: the stream; Kafka: each topic partition; the
 * session buffer: its log). The MAC is HMAC-SHA256 cut to 128 bits.
 *
 * Pure apart from the HMAC: no I/O.
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { ErrorCode, StreamgateError } from "../errors.js";

/** Last delivered offset per partition key: JetStream stream name, `topic:partition`, buffer log. */
export type Positions = Readonly<Record<string, number>>;

export interface CursorBody {
  /** Provider id. */
  readonly p: string;
  /** Trigger fingerprint: {@link triggerFingerprint} of the trigger key. */
  readonly t: string;
  /** Positions after the event the cursor came with. */
  readonly o: Positions;
}

const MAC_BYTES = 16;
/** Cursors longer than this are refused unread (a Kafka trigger of hundreds of partitions fits). */
export const MAX_CURSOR_LENGTH = 16_384;

/** 64 bits of SHA-256 of a trigger key: enough to tell a trigger from another, short on the wire. */
export function triggerFingerprint(triggerKey: string): string {
  return createHash("sha256").update(triggerKey).digest("base64url").slice(0, 11);
}

function invalid(reason: string): StreamgateError {
  return new StreamgateError(ErrorCode.CURSOR_INVALID, `invalid cursor: ${reason}`);
}

export class CursorCodec {
  private readonly key: Buffer;

  constructor(secret: string) {
    this.key = Buffer.from(secret, "utf8");
  }

  encode(body: CursorBody): string {
    const payload = Buffer.from(JSON.stringify(body)).toString("base64url");
    return `${payload}.${this.mac(payload)}`;
  }

  /** The body of a cursor this secret signed; CURSOR_INVALID for anything else. */
  decode(cursor: unknown): CursorBody {
    if (typeof cursor !== "string" || cursor === "") throw invalid("must be a non-empty string");
    if (cursor.length > MAX_CURSOR_LENGTH) throw invalid("too long");
    const dot = cursor.indexOf(".");
    if (dot <= 0 || dot !== cursor.lastIndexOf(".")) throw invalid("malformed");
    const payload = cursor.slice(0, dot);
    // The MAC is compared as text: base64url decoding skips stray characters, so comparing the
    // decoded bytes would accept a cursor with a space inserted (found by the fuzzer).
    const given = Buffer.from(cursor.slice(dot + 1));
    const expected = Buffer.from(this.mac(payload));
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw invalid("signature does not match (altered, or signed with another secret)");
    }
    let body: unknown;
    try {
      body = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
    } catch {
      throw invalid("malformed");
    }
    if (!isBody(body)) throw invalid("malformed");
    return body;
  }

  private mac(payload: string): string {
    return createHmac("sha256", this.key)
      .update(payload)
      .digest()
      .subarray(0, MAC_BYTES)
      .toString("base64url");
  }
}

function isBody(v: unknown): v is CursorBody {
  if (v === null || typeof v !== "object") return false;
  const b = v as Record<string, unknown>;
  if (typeof b.p !== "string" || typeof b.t !== "string") return false;
  if (b.o === null || typeof b.o !== "object" || Array.isArray(b.o)) return false;
  return Object.values(b.o).every((n) => Number.isSafeInteger(n) && (n as number) >= -1);
}
