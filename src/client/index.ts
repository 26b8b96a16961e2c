/**
 * `streamgate/client`: a GraphQL subscription client for the Streamgate router that resumes every
 * subscription from its last cursor after any reconnect. No server module is in its module graph
 * (a test bundles it and checks); it runs in Node 20 (pass `webSocketImpl`) and in browsers.
 * docs/client.md is its manual.
 */
export type { BackoffOptions } from "./backoff.js";
export { backoffDelay } from "./backoff.js";
export { createClient } from "./client.js";
export {
  ClientErrorCode,
  type ClientErrorCodeValue,
  type GraphQLErrorLike,
  StreamgateClientError,
} from "./errors.js";
export type {
  Client,
  ClientEvents,
  ClientOptions,
  ClientStats,
  Document,
  ExecutionResult,
  FetchLike,
  Listener,
  Request,
  ResultExtensions,
  Sink,
  TransportKind,
  WebSocketConstructor,
  WebSocketLike,
} from "./types.js";
