/**
 * A validation rule for what the router cannot serve yet: one field selected twice in the same
 * nested selection set with different arguments (`small: avatar(size: 64) big: avatar(size: 256)`).
 * Entity resolution fetches and stores one value per field name, so the second alias would
 * silently get the first one's value; an error that says so is better than wrong data.
 * Root fields are exempt (they are fetched and resolved by response key), and GraphQL's own
 * OverlappingFieldsCanBeMerged already rejects one response key with different arguments.
 */
import { ErrorCode } from "../errors.js";
import {
  type ASTVisitor,
  type FieldNode,
  GraphQLError,
  Kind,
  print,
  type SelectionSetNode,
  type ValidationContext,
} from "graphql";

/** Fields of a selection set by name, fragments inlined (type conditions ignored: conservative). */
function fieldsByName(
  set: SelectionSetNode,
  context: ValidationContext,
  out = new Map<string, FieldNode[]>(),
  seen = new Set<string>(),
): Map<string, FieldNode[]> {
  for (const s of set.selections) {
    if (s.kind === Kind.FIELD) out.set(s.name.value, [...(out.get(s.name.value) ?? []), s]);
    else if (s.kind === Kind.INLINE_FRAGMENT) fieldsByName(s.selectionSet, context, out, seen);
    else if (!seen.has(s.name.value)) {
      seen.add(s.name.value);
      const frag = context.getFragment(s.name.value);
      if (frag) fieldsByName(frag.selectionSet, context, out, seen);
    }
  }
  return out;
}

const argsOf = (f: FieldNode): string =>
  (f.arguments ?? [])
    .map((a) => `${a.name.value}:${print(a.value)}`)
    .sort()
    .join(",");

export function DistinctArgumentsPerFieldRule(context: ValidationContext): ASTVisitor {
  const roots = new Set<SelectionSetNode>();
  return {
    OperationDefinition(node) {
      roots.add(node.selectionSet);
    },
    SelectionSet(node) {
      if (roots.has(node)) return;
      for (const [name, nodes] of fieldsByName(node, context)) {
        const variants = new Map(nodes.map((n) => [argsOf(n), n]));
        if (variants.size < 2) continue;
        const [a, b] = [...variants.values()];
        context.reportError(
          new GraphQLError(
            `field "${name}" is selected with different arguments (as "${a!.alias?.value ?? name}" and "${b!.alias?.value ?? name}"); the router resolves one value per field name: not supported yet, select it once or split the operation`,
            { nodes: [a!, b!], extensions: { code: ErrorCode.OPERATION_UNSUPPORTED } },
          ),
        );
      }
    },
  };
}
