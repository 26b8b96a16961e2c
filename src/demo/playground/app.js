// The playground page's script (browser code, bundled by scripts/build-playground.mjs into
// dist/demo/playground/; never run by Node). GraphiQL with subscriptions on the project's own
// client (streamgate/client over graphql-transport-ws: it reconnects and resumes from the last
// cursor by itself), queries and mutations over HTTP POST, schema-aware editing from the router's
// introspection, and the demo's operations preloaded as tabs. Its settings come from the page
// (src/demo/playground.ts).
import { createGraphiQLFetcher } from "@graphiql/toolkit";
import { GraphiQL } from "graphiql";
import { getOperationAST, parse } from "graphql";
import { createElement as h } from "react";
import { createRoot } from "react-dom/client";
import * as StreamgateClient from "../../client/index.ts";
import "graphiql/style.css";

// The client is also the page's own API, for the browser console and the browser tests
// (test/helpers/browser.ts subscribeInPage).
globalThis.StreamgateClient = StreamgateClient;

// Monaco runs its language services in web workers, bundled next to this file; the build passes
// their file names in (hashed, so they can be cached for good).
globalThis.MonacoEnvironment = {
  getWorker(_id, label) {
    const file = label === "json" ? WORKERS.json : label === "graphql" ? WORKERS.graphql : WORKERS.editor;
    return new Worker(new URL(file, import.meta.url));
  },
};

const settings = JSON.parse(document.getElementById("streamgate-playground").textContent);
const path = settings.graphqlPath;
const ws = `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}${path}`;
// Every subscription runs on streamgate/client (named or not: GraphiQL's own fetcher would send an
// anonymous one over HTTP multipart); queries and mutations go over HTTP POST. A router restart
// shows as a pause, then more events.
const client = StreamgateClient.createClient({ url: ws, retryAttempts: Number.POSITIVE_INFINITY });
globalThis.StreamgatePlayground = { client };
const http = createGraphiQLFetcher({ url: path });

/** The subscription's results as GraphiQL shows a stream; its stop button ends the iterator. */
async function* subscription(request) {
  try {
    yield* client.iterate(request);
  } catch (err) {
    // A refused subscription (validation, limits, auth): show the router's errors, not a stack.
    yield { errors: err?.errors?.length ? err.errors : [{ message: String(err?.message ?? err), extensions: { code: err?.code } }] };
  }
}

/** The kind of operation `params` runs; from its own text (GraphiQL's parsed copy may lag an edit). */
function kindOf(params) {
  try {
    return getOperationAST(parse(params.query), params.operationName ?? undefined)?.operation;
  } catch {
    return undefined; // a syntax error: the router reports it over HTTP
  }
}

const fetcher = (params, opts) =>
  kindOf(params) === "subscription" ? subscription(params) : http(params, opts);

const tabs = (settings.examples ?? []).map((query) => ({ query }));
createRoot(document.getElementById("root")).render(
  h(
    GraphiQL,
    { fetcher, ...(tabs.length > 0 ? { defaultTabs: tabs } : {}), defaultEditorToolsVisibility: false },
    h(GraphiQL.Logo, null, "Streamgate"),
  ),
);
