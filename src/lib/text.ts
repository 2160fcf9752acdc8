/** `text` cut to `max` characters with an ellipsis, so an echoed input cannot grow a message or a log line without bound. */
export function clip(text: string, max = 120): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
