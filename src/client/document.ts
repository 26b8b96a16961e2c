/**
 * Turns a request's document into the wire payload and finds which kind of operation it runs.
 * The kind decides what happens after a dropped connection: a subscription resumes, a query is
 * sent again, a mutation is never sent twice.
 */
import { type DocumentNode, print } from "graphql";
import { ClientErrorCode, StreamgateClientError } from "./errors.js";
import type { Document, Request } from "./types.js";

export type OperationKind = "query" | "mutation" | "subscription";

/** The `subscribe` payload / HTTP body of a request (without a resume cursor). */
export interface WirePayload {
  readonly query: string;
  readonly variables?: unknown;
  readonly operationName?: string;
  readonly extensions?: Record<string, unknown>;
}

function isDocumentNode(doc: unknown): doc is DocumentNode {
  return typeof doc === "object" && doc !== null && (doc as { kind?: unknown }).kind === "Document";
}

/** The source text of a document: strings as they are, ASTs printed (or their source, when kept). */
export function documentText(doc: Document<unknown, unknown>): string {
  if (typeof doc === "string") return doc;
  if (isDocumentNode(doc)) return doc.loc?.source.body ?? print(doc);
  // codegen's TypedDocumentString is a String subclass
  if (doc instanceof String) return doc.toString();
  throw new StreamgateClientError(
    ClientErrorCode.BAD_REQUEST,
    "query must be a string or a GraphQL document",
  );
}

/** Blanks out comments and string literals, so keywords inside them are not mistaken for operations. */
function stripLiterals(text: string): string {
  return text.replace(/"""[\s\S]*?"""|"(?:[^"\\\n]|\\.)*"|#[^\n\r]*/g, " ");
}

/** The kind of the operation `operationName` (or the first one) in `text`. */
export function operationKindOfText(text: string, operationName?: string | null): OperationKind {
  const source = stripLiterals(text);
  let depth = 0;
  let skipBody = false; // a fragment's `{` at depth 0 is not a shorthand query
  let first: OperationKind | undefined;
  const token = /[{}]|[_A-Za-z][_0-9A-Za-z]*/g;
  for (let m = token.exec(source); m; m = token.exec(source)) {
    const word = m[0];
    if (word === "{") {
      if (depth === 0 && !skipBody && first === undefined && !operationName) first = "query";
      if (depth === 0) skipBody = false;
      depth++;
    } else if (word === "}") depth = Math.max(0, depth - 1);
    else if (depth === 0 && word === "fragment") skipBody = true;
    else if (depth === 0 && (word === "query" || word === "mutation" || word === "subscription")) {
      skipBody = true; // its selection set follows
      const name = /^\s*([_A-Za-z][_0-9A-Za-z]*)/.exec(source.slice(token.lastIndex))?.[1];
      if (operationName ? name === operationName : first === undefined) {
        if (operationName) return word;
        first = word;
      }
    }
  }
  return first ?? "query";
}

/** The kind of operation a request runs. */
export function operationKind(request: Request<unknown, unknown>, text: string): OperationKind {
  const doc = request.query;
  if (isDocumentNode(doc)) {
    for (const def of doc.definitions) {
      if (def.kind !== "OperationDefinition") continue;
      if (!request.operationName || def.name?.value === request.operationName) return def.operation;
    }
  }
  return operationKindOfText(text, request.operationName);
}

/** The payload sent for `request`. */
export function wirePayload(request: Request<unknown, unknown>, text: string): WirePayload {
  return {
    query: text,
    ...(request.variables == null ? {} : { variables: request.variables }),
    ...(request.operationName ? { operationName: request.operationName } : {}),
    ...(request.extensions ? { extensions: request.extensions } : {}),
  };
}
