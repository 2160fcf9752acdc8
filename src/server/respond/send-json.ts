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
  res.end(body.json);
}
