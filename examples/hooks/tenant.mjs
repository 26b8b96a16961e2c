/**
 * An example stream hook module (docs/hooks.md): every subscription is confined to the caller's
 * tenant by a topic prefix, and a new subscriber first receives the current state of what it
 * subscribed to, fetched over HTTP, before any live event. Publishes are tagged with the tenant.
 *
 *   modules: [../examples/hooks/tenant.mjs]     # in the config, relative to the config file
 *
 * The tenant is the verified token's `tenant` claim (never a header: clients choose those). A
 * client without one is refused. Producers publish a tenant's events on `<tenant>.<subject>`.
 *
 * TENANT_STATE_URL (optional): a service answering `GET <url>/<topic>` with the current state as
 * a JSON event (`{"__typename":"Employee","id":"7"}`), or 404 when there is none.
 */
import { HookError } from "streamgate/hooks";

const STATE_URL = process.env.TENANT_STATE_URL;
/** One NATS token, one Kafka name part, no Redis glob character: safe in any topic. */
const TENANT = /^[A-Za-z0-9_-]{1,64}$/;

function tenantOf(claims) {
  const tenant = claims?.tenant;
  if (typeof tenant !== "string" || !TENANT.test(tenant))
    throw new HookError("TENANT_REQUIRED", "a token with a tenant claim is required");
  return tenant;
}

/** @type {import("streamgate").StreamHooks} */
export default {
  onSubscriptionCreate(ctx) {
    const tenant = tenantOf(ctx.claims);
    return { topics: ctx.topics.map((topic) => `${tenant}.${topic}`) };
  },

  async onSubscriptionStart(ctx) {
    if (!STATE_URL) return;
    for (const topic of ctx.topics) {
      // A wildcard subscription has no single current state.
      if (/[*>?[]/.test(topic)) continue;
      // ctx.signal aborts when hooks.timeout passes: the fetch stops with it.
      const res = await fetch(`${STATE_URL}/${encodeURIComponent(topic)}`, { signal: ctx.signal });
      if (res.status === 404) continue;
      if (!res.ok) throw new HookError("STATE_UNAVAILABLE", `the state service answered ${res.status}`);
      ctx.emit(await res.json());
    }
  },

  onPublish(ctx) {
    // ctx.requestHeaders are the client's; ctx.headers the broker message's.
    return { headers: { "x-tenant": tenantOf(ctx.claims) } };
  },
};
