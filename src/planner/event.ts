/**
 * Decoding and checking broker events (spec/edfs.md, "From event to response", step 1). An event
 * is decoded once per trigger and checked once per resolution group, never per client.
 */

/**
 * Why an event was skipped for a resolution group: the `reason` label of
 * `streamgate_events_skipped_total` (docs/security.md lists them).
 */
export type SkipReason =
  | "undecodable"
  | "not_object"
  | "no_typename"
  | "unknown_typename"
  | "missing_key"
  | "filtered"
  | "hook";

export const SKIP_REASONS: readonly SkipReason[] = [
  "undecodable",
  "not_object",
  "no_typename",
  "unknown_typename",
  "missing_key",
  "filtered",
  "hook",
];

export type Decoded =
  | { readonly ok: true; readonly value: Record<string, unknown> }
  | { readonly ok: false; readonly reason: string; readonly skip: "undecodable" | "not_object" };

const decoder = new TextDecoder("utf-8", { fatal: true });

/** Parses an event's bytes; anything but a JSON object is rejected with a reason. */
export function decodeEvent(data: Uint8Array): Decoded {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(data));
  } catch {
    return { ok: false, reason: "event is not valid UTF-8 JSON", skip: "undecodable" };
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return { ok: false, reason: "event is not a JSON object", skip: "not_object" };
  }
  return { ok: true, value: value as Record<string, unknown> };
}

export type Checked =
  | { readonly ok: true; readonly root: Record<string, unknown> }
  | {
      readonly ok: false;
      readonly reason: string;
      readonly skip: "no_typename" | "unknown_typename" | "missing_key";
    };

/**
 * Makes the event a valid root value for a field: fills `__typename` when the field returns a
 * single object type (without mutating the shared decoded object), requires that type to be one
 * the field can return (`possibleTypes`: an event claiming "Query" or a type the schema lacks
 * would otherwise be shaped as if it were the field's type), then one complete `@key` of it.
 */
export function checkEvent(
  value: Record<string, unknown>,
  singleTypeName: string | undefined,
  keysOf: (typeName: string) => readonly (readonly string[])[] | undefined,
  possibleTypes?: ReadonlySet<string>,
): Checked {
  let root = value;
  let typeName = value.__typename;
  if (typeName === undefined && singleTypeName !== undefined) {
    typeName = singleTypeName;
    root = { __typename: singleTypeName, ...value };
  }
  if (typeof typeName !== "string")
    return { ok: false, reason: "event has no __typename", skip: "no_typename" };
  if (possibleTypes && !possibleTypes.has(typeName)) {
    const shown = typeName.length > 64 ? `${typeName.slice(0, 64)}…` : typeName;
    return {
      ok: false,
      reason: `event __typename ${JSON.stringify(shown)} is not a type this field returns`,
      skip: "unknown_typename",
    };
  }
  const keys = keysOf(typeName);
  if (
    keys &&
    keys.length > 0 &&
    !keys.some((fields) => fields.every((f) => root[f] !== undefined && root[f] !== null))
  ) {
    const wanted = keys.map((k) => `"${k.join(" ")}"`).join(" or ");
    return {
      ok: false,
      reason: `event of type ${typeName} lacks its key fields (${wanted})`,
      skip: "missing_key",
    };
  }
  return { ok: true, root };
}
