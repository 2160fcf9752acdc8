import { parseDocument } from 'yaml';

/** YAML text as plain data (objects, arrays, scalars), or the first error in YAML's own words (a caret snippet included). */
export type ParsedYaml = { value: unknown } | { error: string };

/** Duplicate keys are errors: the second would silently win. */
export const YAML_OPTIONS = { prettyErrors: true, uniqueKeys: true } as const;

export function parseYamlText(text: string): ParsedYaml {
  const document = parseDocument(text, YAML_OPTIONS);
  const first = document.errors[0];
  if (first) return { error: first.message };
  return { value: document.toJS() ?? {} };
}
