import type { IncomingMessage } from 'node:http';

/** The raw query string of a request (without `?`), '' when it has none: the app turns express's query parser off. */
export function queryStringOf(req: Pick<IncomingMessage, 'url'> & { originalUrl?: string }): string {
  const url = req.originalUrl ?? req.url ?? '';
  const q = url.indexOf('?');
  return q === -1 ? '' : url.slice(q + 1);
}
