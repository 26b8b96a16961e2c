// The playground page's script (browser code, bundled by scripts/build-playground.mjs into
// dist/demo/playground/; never run by Node). GraphiQL with subscriptions over graphql-ws, queries
// and mutations over HTTP POST, schema-aware editing from the router's introspection, and the
// demo's operations preloaded as tabs. Its settings come from the page (src/demo/playground.ts).
import { createGraphiQLFetcher } from "@graphiql/toolkit";
import { GraphiQL } from "graphiql";
import { createClient } from "graphql-ws";
import { createElement as h } from "react";
import { createRoot } from "react-dom/client";
import "graphiql/style.css";

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
const fetcher = createGraphiQLFetcher({
  url: path,
  // retryAttempts 0: a refused subscription shows its error instead of reconnecting forever.
  wsClient: createClient({ url: ws, retryAttempts: 0 }),
});

const tabs = (settings.examples ?? []).map((query) => ({ query }));
createRoot(document.getElementById("root")).render(
  h(
    GraphiQL,
    { fetcher, ...(tabs.length > 0 ? { defaultTabs: tabs } : {}), defaultEditorToolsVisibility: false },
    h(GraphiQL.Logo, null, "Streamgate"),
  ),
);
