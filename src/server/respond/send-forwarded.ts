import type { ServerResponse } from 'node:http';
import type { UpstreamAnswer } from '../../upstreams/forwarding.js';

/** An upstream's answer sent on as it came: its status code, content type and body. */
export function sendForwarded(res: ServerResponse, answer: UpstreamAnswer): void {
  res.statusCode = answer.status;
  res.setHeader('Content-Type', answer.contentType);
  res.setHeader('Content-Length', Buffer.byteLength(answer.body));
  res.end(answer.body);
}
