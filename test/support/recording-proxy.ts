import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * An HTTP proxy on loopback in front of one server (a real Prometheus), recording each request's
 * method, path with query, and headers as they arrived — what tests of per-server and per-rule
 * headers (X-Scope-OrgID) assert on. Bodies of POSTs are recorded too, since a long query goes as a form.
 */
export interface RecordedRequest {
  method: string;
  /** Path and query string, decoded as Prometheus would read them: `query` / `match[]` parameters. */
  url: string;
  params: URLSearchParams;
  headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The request body as text (an AWS JSON call's operation input). */
  body: string;
}

export interface RecordingProxy {
  url: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

export async function startRecordingProxy(target: string): Promise<RecordingProxy> {
  const upstream = new URL(target);
  const requests: RecordedRequest[] = [];
  const server = createServer((incoming, outgoing) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      const body = Buffer.concat(chunks);
      const url = incoming.url ?? '/';
      const params = new URLSearchParams(url.includes('?') ? url.slice(url.indexOf('?') + 1) : '');
      if (incoming.headers['content-type'] === 'application/x-www-form-urlencoded') {
        for (const [name, value] of new URLSearchParams(body.toString())) params.append(name, value);
      }
      requests.push({
        method: incoming.method ?? 'GET',
        url,
        params,
        headers: { ...incoming.headers },
        body: body.toString(),
      });
      const forwarded = request(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: incoming.method,
          path: url,
          headers: { ...incoming.headers, host: upstream.host },
          timeout: 10_000,
        },
        (answer) => {
          outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(outgoing);
        },
      );
      forwarded.on('timeout', () => forwarded.destroy(new Error('upstream timed out')));
      forwarded.on('error', (error) => {
        if (!outgoing.headersSent) outgoing.writeHead(502, { 'content-type': 'text/plain' });
        outgoing.end(`proxy: ${error.message}`);
      });
      forwarded.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
