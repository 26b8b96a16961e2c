/**
 * The schema check a template's argument references share, wherever a template appears: an event
 * directive's subjects/channels/topics (validate-edfs.ts) or a subscription filter's values
 * (filter-validate.ts).
 */
import {
  type GraphQLField,
  type GraphQLInputType,
  getNamedType,
  isInputObjectType,
  isLeafType,
} from "graphql";
import type { Template } from "./template.js";

/**
 * Checks that a template's argument paths exist on `field` and end on a leaf (or list of leaves).
 * Claim references are skipped: claims are only known per request. Returns one line per problem.
 */
export function templateProblems(t: Template, field: GraphQLField<unknown, unknown>): string[] {
  const problems: string[] = [];
  for (const part of t.parts) {
    if (part.kind !== "arg") continue;
    const [head, ...rest] = part.path;
    const arg = field.args.find((a) => a.name === head);
    if (!arg) {
      problems.push(`template "${t.source}" names argument "${head}", which ${field.name} does not have`);
      continue;
    }
    let type: GraphQLInputType = arg.type;
    let pathOk = true;
    for (const seg of rest) {
      const named = getNamedType(type);
      const sub = isInputObjectType(named) ? named.getFields()[seg] : undefined;
      if (!sub) {
        problems.push(`template "${t.source}": "${seg}" is not a field of ${named.name}`);
        pathOk = false;
        break;
      }
      type = sub.type;
    }
    if (pathOk && !isLeafType(getNamedType(type))) {
      problems.push(`template "${t.source}": args.${part.path.join(".")} must end on a scalar or enum`);
    }
  }
  return problems;
}
