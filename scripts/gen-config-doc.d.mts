/** The Markdown text of docs/configuration.md for a parsed config JSON Schema. */
export function renderConfigDoc(root: unknown): string;
