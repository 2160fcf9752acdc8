import { parseDocument } from 'yaml';
import { escapeControlCharacters } from '../lib/text.js';

/**
 * YAML text as plain data (objects, arrays, scalars), or the first error in YAML's own words (a
 * caret snippet included, control characters in it written as escapes: the snippet quotes the
 * file, and a file of binary garbage would put raw bytes in the log and on the terminal).
 */
export type ParsedYaml = { value: unknown } | { error: string };

/** Duplicate keys are errors: the second would silently win. */
export const YAML_OPTIONS = { prettyErrors: true, uniqueKeys: true } as const;

export function parseYamlText(text: string): ParsedYaml {
  const document = parseDocument(text, YAML_OPTIONS);
  const first = document.errors[0];
  if (first) return { error: escapeControlCharacters(first.message) };
  return { value: document.toJS() ?? {} };
}
