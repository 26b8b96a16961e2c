/**
 * Decoding and checking broker events (spec/edfs.md, "From event to response", step 1). An event
 * is decoded once per trigger and checked once per resolution group, never per client.
 */

export type Decoded =
  | { readonly ok: true; readonly value: Record<string, unknown> }
  | { readonly ok: false; readonly reason: string };

const decoder = new TextDecoder("utf-8", { fatal: true });

/** Parses an event's bytes; anything but a JSON object is rejected with a reason. */
export function decodeEvent(data: Uint8Array): Decoded {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(data));
  } catch {
    return { ok: false, reason: "event is not valid UTF-8 JSON" };
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return { ok: false, reason: "event is not a JSON object" };
  }
  return { ok: true, value: value as Record<string, unknown> };
}

export type Checked =
  | { readonly ok: true; readonly root: Record<string, unknown> }
  | { readonly ok: false; readonly reason: string };

/**
 * Makes the event a valid root value for a field: fills `__typename` when the field returns a
 * single object type (without mutating the shared decoded object), then requires one complete
 * `@key` of that type.
 */
export function checkEvent(
  value: Record<string, unknown>,
  singleTypeName: string | undefined,
  keysOf: (typeName: string) => readonly (readonly string[])[] | undefined,
): Checked {
  let root = value;
  let typeName = value.__typename;
  if (typeName === undefined && singleTypeName !== undefined) {
    typeName = singleTypeName;
    root = { __typename: singleTypeName, ...value };
  }
  if (typeof typeName !== "string") return { ok: false, reason: "event has no __typename" };
  const keys = keysOf(typeName);
  if (
    keys &&
    keys.length > 0 &&
    !keys.some((fields) => fields.every((f) => root[f] !== undefined && root[f] !== null))
  ) {
    const wanted = keys.map((k) => `"${k.join(" ")}"`).join(" or ");
    return { ok: false, reason: `event of type ${typeName} lacks its key fields (${wanted})` };
  }
  return { ok: true, root };
}
