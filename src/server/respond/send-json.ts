import type { ServerResponse } from 'node:http';
import type { RenderedJson } from './rendered-bodies.js';

// Exactly what kube-apiserver sends: client-go picks its decoder from this header.
const JSON_CONTENT_TYPE = 'application/json';

/**
 * Answers with `body` as JSON, through node's own response API: express's send() would look the
 * type up, then parse and re-format it to add a charset, on every metrics request. Node leaves
 * the body out of HEAD answers by itself.
 */
export function sendJson(res: ServerResponse, body: unknown, status = 200): void {
  const json = JSON.stringify(body);
  sendRenderedJson(res, { json, bytes: Buffer.byteLength(json) }, status);
}

/**
 * Answers with JSON serialised earlier (kept from an identical answer): no work but the write.
 * A string, not a Buffer: node sends a string body in one write with the headers. The headers go
 * to writeHead as a flat list, which node writes out as given, where setHeader would first keep
 * each one in the response's header map; headers set earlier (Connection: close while draining,
 * Retry-After) are kept.
 */
export function sendRenderedJson(
  res: ServerResponse,
  body: RenderedJson,
  status = 200,
  contentType = JSON_CONTENT_TYPE,
): void {
  res.writeHead(status, ['Content-Type', contentType, 'Content-Length', String(body.bytes)]);
  endWithBody(res, body.json, body.bytes);
}

/** Ends `res` with `text` of `bytes` UTF-8 bytes: at once, or a slice at a time when it is large. */
export function endWithBody(res: ServerResponse, text: string, bytes: number): void {
  if (bytes <= SLICED_BODY_BYTES) res.end(text);
  else writeInSlices(res, text.length, (offset) => textSlice(text, offset));
}

/** Ends `res` with `body` as it is: at once, or a slice at a time when it is large. */
export function endWithBytes(res: ServerResponse, body: Buffer): void {
  if (body.length <= SLICED_BODY_BYTES) res.end(body);
  else writeInSlices(res, body.length, (offset) => body.subarray(offset, offset + SLICE_SIZE));
}

/** Bodies larger than this are written a slice at a time (writeInSlices). */
const SLICED_BODY_BYTES = 1024 * 1024;
/** Characters of a text, bytes of a Buffer. */
const SLICE_SIZE = 256 * 1024;

/**
 * A body written whole is copied at once into a Buffer and, over TLS, into its encrypted form: a
 * 30 MiB answer held about 90 MiB outside the heap until the client had read all of it. Written
 * a slice at a time, as the socket drains, it holds one slice's copies; a client that leaves
 * stops the writing. `sliceAt` gives the slice that starts at an offset into the body's `length`.
 */
function writeInSlices<Slice extends { length: number }>(
  res: ServerResponse,
  length: number,
  sliceAt: (offset: number) => Slice,
): void {
  let offset = 0;
  const writeMore = (): void => {
    while (!res.destroyed) {
      const slice = sliceAt(offset);
      offset += slice.length;
      if (offset === length) {
        res.end(slice);
        return;
      }
      if (!res.write(slice)) {
        res.once('drain', writeMore);
        return;
      }
    }
  };
  writeMore();
}

/** SLICE_SIZE characters of `text` from `offset`; never half a surrogate pair, which would become U+FFFD. */
function textSlice(text: string, offset: number): string {
  let end = Math.min(offset + SLICE_SIZE, text.length);
  if (end < text.length && isHighSurrogate(text.charCodeAt(end - 1))) end++;
  return text.slice(offset, end);
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}
