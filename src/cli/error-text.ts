/**
 * An error as a person reads it on a terminal, after the command's name: the message as written,
 * so a YAML error's caret snippet keeps its lines (a JSON log line would escape them).
 */
export function errorText(prefix: string, error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return `${prefix}: ${message.trimEnd()}\n`;
}
