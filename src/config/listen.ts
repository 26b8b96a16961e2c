/** `listen_addr` ("host:port", "[v6]:port", ":port") → host and port. */
export function splitAddr(addr: string): { host: string; port: number } {
  const i = addr.lastIndexOf(":");
  const host = addr.slice(0, i).replace(/^\[|\]$/g, "");
  return { host: host || "0.0.0.0", port: Number(addr.slice(i + 1)) };
}
