import type { IncomingMessage, ServerResponse } from 'node:http';
import { request } from 'node:https';

/**
 * An APIService as kube-apiserver's aggregator serves it: requests for the group's resources are
 * proxied to the extension server over TLS with the front-proxy client certificate, the caller's
 * identity in X-Remote-User / X-Remote-Group. The kube-apiserver double uses it so a real kubectl
 * talks to one server for core objects and aggregated metrics alike, as in a cluster.
 */
export interface AggregatedApi {
  /** The extension server's base URL, e.g. the adapter's `https://127.0.0.1:PORT`. */
  url: string;
  /** The CA that signed the extension server's certificate. */
  ca: string;
  /** The front-proxy client certificate and key the extension server trusts. */
  cert: string;
  key: string;
}

export function proxyToAggregated(
  api: AggregatedApi,
  req: IncomingMessage,
  res: ServerResponse,
  user: { username: string; groups: readonly string[] },
  /** Answers the caller when the extension server cannot be reached (kube-apiserver: a 503 Status). */
  unreachable: (message: string) => void,
): void {
  const target = new URL(req.url ?? '/', api.url);
  const upstream = request(
    {
      host: target.hostname,
      port: target.port,
      path: `${target.pathname}${target.search}`,
      method: req.method,
      ca: api.ca,
      cert: api.cert,
      key: api.key,
      agent: false,
      headers: {
        ...(req.headers.accept ? { accept: req.headers.accept } : {}),
        'x-remote-user': user.username,
        'x-remote-group': [...user.groups],
      },
    },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, {
        'content-type': answer.headers['content-type'] ?? 'application/json',
      });
      answer.pipe(res);
    },
  );
  upstream.on('error', (error) => unreachable(`error trying to reach service: ${error.message}`));
  upstream.end();
}
