/**
 * Frame prefixes (`{"id":"1","type":"next","payload":`) shared between connections. Most clients
 * number their operations ("1", "2", … : Apollo's and many hand-written ones), so 10k connections
 * would each hold the same ~50-byte prefix as a chain of concatenated strings (~130 B each;
 * profiles/per-client.md). Short ids get one prefix for every connection; long ids (UUIDs, as the
 * graphql-ws client sends) are made per operation as before. The table is bounded, so ids a
 * client invents cannot grow it without limit.
 */

/** Ids this long or shorter are shared. */
const MAX_SHARED_ID = 8;
/** Distinct shared ids at most; later ones get their own prefix. */
const MAX_SHARED = 1024;

export function sharedPrefixes(make: (id: string) => string): (id: string) => string {
  const table = new Map<string, string>();
  return (id) => {
    if (id.length > MAX_SHARED_ID) return make(id);
    let prefix = table.get(id);
    if (prefix === undefined) {
      prefix = make(id);
      if (table.size < MAX_SHARED) table.set(id, prefix);
    }
    return prefix;
  };
}
