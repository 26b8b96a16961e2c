/**
 * Real federation subgraphs for tests: `@apollo/subgraph` schemas served by `@apollo/server` over
 * HTTP on a free port, with every received operation recorded so tests can count fetches.
 */
import { ApolloServer } from "@apollo/server";
import { startStandaloneServer } from "@apollo/server/standalone";
import { buildSubgraphSchema } from "@apollo/subgraph";
import { parse } from "graphql";

export interface RunningSubgraph {
  readonly url: string;
  /** Query text of every request received, in order. */
  readonly queries: string[];
  /** The traceparent header of every request received (empty when none), in order. */
  readonly traceparents: string[];
  /** Requests whose query holds `_entities`. */
  entityRequests(): number;
  stop(): Promise<void>;
}

export async function startSubgraph(
  typeDefs: string,
  // Apollo's resolver-map type is not exported from its entry point; tests pass plain objects.
  resolvers: Record<string, unknown>,
): Promise<RunningSubgraph> {
  const queries: string[] = [];
  const traceparents: string[] = [];
  const server = new ApolloServer({
    schema: buildSubgraphSchema([{ typeDefs: parse(typeDefs), resolvers: resolvers as never }]),
    plugins: [
      {
        async requestDidStart(ctx) {
          queries.push(ctx.request.query ?? "");
          traceparents.push(ctx.request.http?.headers.get("traceparent") ?? "");
        },
      },
    ],
  });
  const { url } = await startStandaloneServer(server, { listen: { port: 0, host: "127.0.0.1" } });
  return {
    url,
    queries,
    traceparents,
    entityRequests: () => queries.filter((q) => q.includes("_entities")).length,
    stop: () => server.stop(),
  };
}
