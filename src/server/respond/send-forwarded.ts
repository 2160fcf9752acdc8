import type { ServerResponse } from 'node:http';
import type { UpstreamAnswer } from '../../upstreams/forwarding.js';
import { endWithBytes } from './send-json.js';

/**
 * An upstream's answer sent on as it came: its status code, content type and body. Its bytes are
 * released to the response budget once the response is done (written, or its client gone): until
 * then they are held. A client that stops reading for `stalledMs` is cut, so that it cannot hold
 * them, and the budget with them, for as long as it keeps its connection open.
 */
export function sendForwarded(res: ServerResponse, answer: UpstreamAnswer, stalledMs: number): void {
  // A client gone while the upstream answered: its response closed already.
  if (res.closed || res.destroyed) {
    answer.release();
    return;
  }
  res.once('close', answer.release);
  res.setTimeout(stalledMs, () => res.destroy());
  res.statusCode = answer.status;
  res.setHeader('Content-Type', answer.contentType);
  res.setHeader('Content-Length', answer.body.length);
  endWithBytes(res, answer.body);
}
