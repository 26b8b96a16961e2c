/** URLs of the router's HTTP side, and whether it answers at all. */

/** `http(s)://` of a `ws(s)://` URL (others unchanged). */
export function httpUrlOf(url: string): string {
  return url.replace(/^ws(s?):/i, "http$1:");
}

/**
 * Does anything answer HTTP at `url` within `timeoutMs`? Used when a WebSocket could not open: an
 * HTTP answer means a proxy refused the upgrade (fall back to SSE), none means the router is down.
 */
export async function answersHttp(fetchImpl: typeof fetch, url: string, timeoutMs = 3000): Promise<boolean> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  try {
    const res = await fetchImpl(httpUrlOf(url), { method: "GET", signal: abort.signal });
    await res.body?.cancel();
    return true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}
