import type { AuthInfo } from "../engine/types.js";

/** The token's scopes: the `scope` claim (space-separated), or `scp` / `scopes` (arrays or strings). */
export function scopesOf(auth: AuthInfo | null): ReadonlySet<string> {
  if (!auth) return new Set();
  const out = new Set<string>();
  for (const name of ["scope", "scp", "scopes"]) {
    const v = auth.claims[name];
    if (typeof v === "string") for (const s of v.split(/\s+/)) if (s) out.add(s);
    if (Array.isArray(v)) for (const s of v) if (typeof s === "string" && s) out.add(s);
  }
  return out;
}
