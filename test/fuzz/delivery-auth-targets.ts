/**
 * Fuzz targets for the inputs issues 10 and 11 added: tokens (from headers, connection_init and
 * ping payloads) through the JWT verifier, and resume cursors (from `extensions.cursor` and
 * Last-Event-ID) through the cursor codec. Both must refuse anything but the genuine article with
 * their typed error, never throw anything else, never hang.
 */
import fc from "fast-check";
import { CursorCodec } from "../../src/delivery/cursor.js";
import { ErrorCode, StreamgateError } from "../../src/errors.js";
import { JwtVerifier } from "../../src/security/jwt.js";
import { signHs256 } from "../helpers/jwt.js";
import { counts } from "./targets.js";
import { hostileString } from "./arbitraries.js";

const SECRET = "fuzz-secret-0123456789abcdef0123456789";
const count = (t: string) => counts.set(t, (counts.get(t) ?? 0) + 1);

/** A string edited at a few places: flips, cuts, insertions. */
const mutated = (base: string) =>
  fc
    .array(
      fc.tuple(
        fc.nat({ max: Math.max(0, base.length - 1) }),
        fc.constantFrom("flip", "cut", "insert"),
        fc.string({ minLength: 1, maxLength: 1 }),
      ),
      {
        minLength: 1,
        maxLength: 4,
      },
    )
    .map((edits) => {
      let s = base;
      for (const [i, op, c] of edits) {
        const at = Math.min(i, s.length);
        if (op === "cut") s = s.slice(0, at) + s.slice(at + 1);
        else if (op === "insert") s = s.slice(0, at) + c + s.slice(at);
        else s = s.slice(0, at) + (s[at] === "A" ? "B" : "A") + s.slice(at + 1);
      }
      return s;
    })
    .filter((s) => s !== base);

export function cursorTarget(runs: number, seed?: number): void {
  const codec = new CursorCodec(SECRET);
  const genuine = codec.encode({ p: "default", t: "abcdefghijk", o: { "orders:orders.updated": 41 } });
  const refuse = (input: unknown) => {
    count("cursor");
    try {
      codec.decode(input);
    } catch (err) {
      if (!(err instanceof StreamgateError) || err.code !== ErrorCode.CURSOR_INVALID) throw err;
      return;
    }
    throw new Error(`accepted a cursor that is not genuine: ${JSON.stringify(input)}`);
  };
  fc.assert(
    fc.property(
      fc.oneof(
        hostileString,
        mutated(genuine),
        fc.anything(),
        fc.base64String().map((b) => `${b}.${b}`),
        fc
          .jsonValue()
          .map((v) => `${Buffer.from(JSON.stringify(v)).toString("base64url")}.AAAAAAAAAAAAAAAAAAAAAA`),
      ),
      refuse,
    ),
    { numRuns: runs, ...(seed === undefined ? {} : { seed }) },
  );
  // The genuine one still decodes (the property above can fail for the right reason only).
  if (codec.decode(genuine).o["orders:orders.updated"] !== 41) throw new Error("genuine cursor lost");
}

export async function tokenTarget(runs: number, seed?: number): Promise<void> {
  const verifier = new JwtVerifier({
    jwks: [{ secret: SECRET, symmetric_algorithm: "HS256", refresh_interval: 60_000 }],
    header_name: "Authorization",
    header_value_prefix: "Bearer",
    clock_skew: 0,
    cache_size: 0,
  });
  const genuine = await signHs256(SECRET, { sub: "fuzz" });
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(hostileString, mutated(genuine), fc.string({ maxLength: 2000 })),
      async (token) => {
        count("token");
        try {
          let t: string | null = token;
          t = verifier.tokenFrom(`Bearer ${token}`);
          if (t !== null) await verifier.verify(t);
        } catch (err) {
          if (!(err instanceof StreamgateError) || err.code !== ErrorCode.UNAUTHENTICATED) throw err;
          return;
        }
        // Only the genuine token (or an equivalent base64url spelling of it) verifies.
        const payload = JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString() || "null");
        if (payload?.sub !== "fuzz") throw new Error(`accepted a forged token: ${token}`);
      },
    ),
    { numRuns: runs, ...(seed === undefined ? {} : { seed }) },
  );
}
