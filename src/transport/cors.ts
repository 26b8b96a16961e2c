/** CORS and WebSocket Origin checks against `cors.allow_origins` ("*" allows any). */
export function originAllowed(allow: readonly string[], origin: string): boolean {
  if (origin === "" || allow.includes("*")) return true;
  return allow.includes(origin);
}

export function corsOrigin(allow: readonly string[], origin: string): string | null {
  if (allow.includes("*")) return "*";
  return origin !== "" && allow.includes(origin) ? origin : null;
}
