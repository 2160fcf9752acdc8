import type { ServerResponse } from 'node:http';
import type { UpstreamAnswer } from '../../upstreams/forwarding.js';
import { endWithBody } from './send-json.js';

/** An upstream's answer sent on as it came: its status code, content type and body. */
export function sendForwarded(res: ServerResponse, answer: UpstreamAnswer): void {
  res.statusCode = answer.status;
  res.setHeader('Content-Type', answer.contentType);
  const bytes = Buffer.byteLength(answer.body);
  res.setHeader('Content-Length', bytes);
  endWithBody(res, answer.body, bytes);
}
