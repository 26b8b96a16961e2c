/**
 * Shape limits of an operation (limits.max_operation_depth, max_operation_aliases,
 * max_operation_root_fields), checked once per distinct document right after parsing, before
 * validation, so a hostile document costs one linear walk. Fragments are expanded by counting,
 * never by copying: each fragment is measured once and a spread adds its measure, so a
 * "fragment bomb" (each fragment spreading the previous one twice) is measured in linear time
 * and refused on its expanded size. Pure.
 */
import { type DocumentNode, type FragmentDefinitionNode, Kind, type SelectionSetNode } from "graphql";
import type { LimitName } from "../security/limits.js";

export interface OperationLimits {
  readonly maxDepth: number;
  readonly maxAliases: number;
  readonly maxRootFields: number;
}

export interface LimitViolation {
  readonly limit: LimitName;
  readonly message: string;
}

interface Measure {
  /** Deepest field nesting below (and including) this selection set's fields. */
  readonly depth: number;
  /** Aliases with fragments expanded. */
  readonly aliases: number;
  /** Fields directly in this selection set, fragments expanded. */
  readonly fields: number;
}

/** Expanded counts can grow exponentially; they are capped where they stop mattering. */
const CAP = 1e9;
const EMPTY: Measure = { depth: 0, aliases: 0, fields: 0 };

class Walker {
  private readonly memo = new Map<string, Measure>();
  private readonly active = new Set<string>();

  constructor(
    private readonly fragments: ReadonlyMap<string, FragmentDefinitionNode>,
    /** Fields deeper than this are not walked: the operation is refused anyway. */
    private readonly maxDepth: number,
  ) {}

  /** `level`: the depth of the fields of `set` (1 at the root). */
  measure(set: SelectionSetNode, level = 1): Measure {
    if (level > this.maxDepth) return { depth: 1, aliases: 0, fields: set.selections.length };
    let depth = 0;
    let aliases = 0;
    let fields = 0;
    for (const s of set.selections) {
      let m: Measure;
      if (s.kind === Kind.FIELD) {
        const child = s.selectionSet ? this.measure(s.selectionSet, level + 1) : EMPTY;
        m = { depth: child.depth + 1, aliases: child.aliases + (s.alias ? 1 : 0), fields: 1 };
      } else if (s.kind === Kind.INLINE_FRAGMENT) {
        m = this.measure(s.selectionSet, level);
      } else {
        m = this.fragment(s.name.value);
      }
      if (m.depth > depth) depth = m.depth;
      aliases = Math.min(CAP, aliases + m.aliases);
      fields = Math.min(CAP, fields + m.fields);
    }
    return { depth, aliases, fields };
  }

  private fragment(name: string): Measure {
    const known = this.memo.get(name);
    if (known) return known;
    const def = this.fragments.get(name);
    // Unknown and cyclic spreads are validation errors (reported after this check passes).
    if (!def || this.active.has(name)) return EMPTY;
    this.active.add(name);
    // Measured once from level 1 whatever the spread's level, so the memo holds for every spread.
    const m = this.measure(def.selectionSet);
    this.active.delete(name);
    this.memo.set(name, m);
    return m;
  }
}

/** The first limit `document` breaks (every operation in it is checked), or undefined. */
export function checkOperationLimits(
  document: DocumentNode,
  limits: OperationLimits,
): LimitViolation | undefined {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions)
    if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const walker = new Walker(fragments, limits.maxDepth);
  for (const d of document.definitions) {
    if (d.kind !== Kind.OPERATION_DEFINITION) continue;
    const m = walker.measure(d.selectionSet);
    const name = d.name ? ` ${d.name.value}` : "";
    if (m.fields > limits.maxRootFields) {
      return {
        limit: "max_operation_root_fields",
        message: `operation${name} selects ${m.fields} root fields; the limit is ${limits.maxRootFields}`,
      };
    }
    if (m.depth > limits.maxDepth) {
      return {
        limit: "max_operation_depth",
        message: `operation${name} is nested ${m.depth} fields deep; the limit is ${limits.maxDepth}`,
      };
    }
    if (m.aliases > limits.maxAliases) {
      return {
        limit: "max_operation_aliases",
        message: `operation${name} uses ${m.aliases >= CAP ? "too many" : m.aliases} aliases; the limit is ${limits.maxAliases}`,
      };
    }
  }
  return undefined;
}
