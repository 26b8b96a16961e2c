/**
 * Messages between the primary and its workers, and between workers (one MessageChannel per
 * pair, set up by the primary). Plain objects, structured-cloned; event payloads travel as the
 * serialized JSON string the owner produced once per resolution group.
 */
import type { MessagePort } from "node:worker_threads";
import type { AuthInfo, EventMeta, OperationRequest } from "../engine/types.js";
import type { PlanError } from "../planner/plan.js";
import type { PublishOptions } from "../providers/provider.js";
import type { ComposeResult, ServiceSdl } from "../schema/compose.js";
import type { ConnectionTable } from "../security/connections.js";

/** Primary → worker. */
export type ToWorker =
  | { readonly t: "peer"; readonly index: number; readonly port: MessagePort }
  | { readonly t: "peer-gone"; readonly index: number }
  | { readonly t: "metrics-collect"; readonly id: number }
  | { readonly t: "metrics-text"; readonly id: number; readonly text: string }
  | { readonly t: "shutdown" }
  /** Apply this config in place (plain data, already validated by the primary). */
  | { readonly t: "reload"; readonly id: number; readonly config: unknown }
  /** The answer to a `compose` request. */
  | { readonly t: "composed"; readonly id: number; readonly result?: ComposeResult; readonly error?: string }
  | { readonly t: "close-now" };

/** Worker → primary. */
export type ToPrimary =
  | { readonly t: "ready"; readonly port: number }
  | { readonly t: "start-failed"; readonly message: string }
  | { readonly t: "metrics-req"; readonly id: number }
  | { readonly t: "metrics-json"; readonly id: number; readonly json: unknown }
  | { readonly t: "stopped" }
  /** Compose these subgraphs (the primary composes each distinct input once for all workers). */
  | { readonly t: "compose"; readonly id: number; readonly services: readonly ServiceSdl[] }
  | { readonly t: "reloaded"; readonly id: number; readonly outcome?: unknown; readonly error?: string };

/** Worker ↔ worker. `id` is the requesting worker's id for one forwarded resolution group. */
export type PeerMessage =
  | {
      readonly t: "sub";
      readonly id: number;
      readonly req: OperationRequest;
      /** The caller, for claim templates and filters (structured-cloned). */
      readonly ip: string;
      readonly auth: AuthInfo | null;
      /** For stream hooks the owner runs (onDeliver): the rest of the caller's context. */
      readonly connectionParams?: Readonly<Record<string, unknown>> | null;
      readonly headers?: Readonly<Record<string, string>>;
      /** Topics a create hook rewrote on the requesting worker: the owner uses them as they are. */
      readonly topics?: readonly string[];
    }
  | { readonly t: "unsub"; readonly id: number }
  | { readonly t: "next"; readonly id: number; readonly json: string; readonly meta?: EventMeta }
  | { readonly t: "error"; readonly id: number; readonly errors: readonly PlanError[] }
  | { readonly t: "complete"; readonly id: number }
  | {
      readonly t: "mem-pub";
      readonly providerId: string;
      readonly topic: string;
      readonly data: Uint8Array;
      /** Headers and key an onPublish hook set. */
      readonly options?: PublishOptions;
    };

/** What a worker is started with. */
export interface WorkerData {
  readonly index: number;
  /** The loaded config as plain data (listen_addr already carries the shared port). */
  readonly config: unknown;
  readonly logLevel?: string;
  /** The process's connection counts, shared by every worker (src/security/connections.ts). */
  readonly connections: ConnectionTable;
}
