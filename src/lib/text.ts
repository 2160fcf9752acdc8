/** `text` cut to `max` characters with an ellipsis, so an echoed input cannot grow a message or a log line without bound. */
export function clip(text: string, max = 120): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** Control characters (C0, DEL, C1) but newline and tab. */
const CONTROL_CHARACTER = /(?![\n\t])\p{Cc}/gu;

/** `text` with its control characters but newline and tab written as `\u001b` escapes: safe to log and print. */
export function escapeControlCharacters(text: string): string {
  return text.replace(CONTROL_CHARACTER, (c) => `\\u${(c.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`);
}

/**
 * `text` with its %XX escapes decoded as UTF-8, or undefined when an escape is malformed or
 * decodes to no valid UTF-8; the caller decides what that means (a 400 for a path segment, the
 * raw text for a header-encoded key).
 */
export function percentDecoded(text: string): string | undefined {
  if (!text.includes('%')) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

/** `bytes` in the largest binary unit that divides it (`32 MiB`), else in bytes. */
export function formatBytes(bytes: number): string {
  const units: [number, string][] = [
    [1024 * 1024 * 1024, 'GiB'],
    [1024 * 1024, 'MiB'],
    [1024, 'KiB'],
  ];
  for (const [size, unit] of units) if (bytes >= size && bytes % size === 0) return `${bytes / size} ${unit}`;
  return `${bytes} bytes`;
}
