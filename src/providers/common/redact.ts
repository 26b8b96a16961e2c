/** Keeps credentials out of provider messages, health details and logs. */

/** The URL (or comma-separated URLs) without the user-info part, safe for messages and logs. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/[^/@\s]*@/g, "//***@");
}
