import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A container credentials endpoint (EKS Pod Identity agent, ECS) as the SDK's default chain
 * reaches it through AWS_CONTAINER_CREDENTIALS_FULL_URI, that can also misbehave:
 * - `ok`: `{"AccessKeyId","SecretAccessKey","Token","AccountId","Expiration"}`, a new key each time;
 * - `hang`: takes the request and never answers;
 * - `drip`: answers 200 and then one byte of a never-ending body every `dripMs`;
 * - `huge`: answers 200 with `hugeChunks` × 1 MiB of JSON, as fast as the reader takes it.
 * The answer's mode is the one set when the request arrives.
 */
export type CredentialsEndpointMode = 'ok' | 'hang' | 'drip' | 'huge';

const MIB = Buffer.alloc(1024 * 1024, 'A');

export class CredentialsEndpoint {
  mode: CredentialsEndpointMode = 'ok';
  dripMs = 50;
  hugeChunks = 2000;
  /** Requests received, in every mode. */
  requests = 0;
  /** How long the credentials of the next `ok` answer last. */
  lifetimeMs = 3_600_000;
  /** The keys `ok` answers handed out, in order, with the Authorization header each request carried. */
  readonly issued: { accessKeyId: string; authorization: string | undefined }[] = [];
  /** Called with each key an `ok` answer hands out (a SigV4 verifier accepts it). */
  onIssue: ((credentials: { accessKeyId: string; secretAccessKey: string; sessionToken: string }) => void) | undefined;
  private readonly server: http.Server;
  private readonly timers = new Set<NodeJS.Timeout>();

  private constructor() {
    this.server = http.createServer((req, res) => this.answer(req, res));
  }

  static async start(): Promise<CredentialsEndpoint> {
    const endpoint = new CredentialsEndpoint();
    await new Promise<void>((resolve) => endpoint.server.listen(0, '127.0.0.1', resolve));
    return endpoint;
  }

  /** The value for AWS_CONTAINER_CREDENTIALS_FULL_URI (loopback, which the SDK accepts over http). */
  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1/credentials`;
  }

  /** Ends every answer still open (hanging or dripping), as the agent restarting would. */
  cutConnections(): void {
    for (const timer of this.timers) clearInterval(timer);
    this.timers.clear();
    this.server.closeAllConnections();
  }

  async close(): Promise<void> {
    this.cutConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private answer(req: http.IncomingMessage, res: http.ServerResponse): void {
    this.requests++;
    req.resume();
    switch (this.mode) {
      case 'hang':
        return;
      case 'drip': {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{');
        const timer = setInterval(() => res.write(' '), this.dripMs);
        this.timers.add(timer);
        res.on('close', () => {
          clearInterval(timer);
          this.timers.delete(timer);
        });
        return;
      }
      case 'huge': {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"AccessKeyId":"');
        let sent = 0;
        const more = (): void => {
          while (sent < this.hugeChunks) {
            sent++;
            if (!res.write(MIB)) {
              res.once('drain', more);
              return;
            }
          }
          res.end('","SecretAccessKey":"s","Token":"t","Expiration":"2099-01-01T00:00:00Z"}');
        };
        more();
        return;
      }
      default: {
        const n = this.issued.length + 1;
        const credentials = {
          accessKeyId: `ASIAPODIDENTITY${n}`,
          secretAccessKey: `secret-${n}`,
          sessionToken: `session-${n}`,
        };
        this.issued.push({ accessKeyId: credentials.accessKeyId, authorization: req.headers.authorization });
        this.onIssue?.(credentials);
        res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            AccessKeyId: credentials.accessKeyId,
            SecretAccessKey: credentials.secretAccessKey,
            Token: credentials.sessionToken,
            AccountId: '111122223333',
            Expiration: new Date(Date.now() + this.lifetimeMs).toISOString(),
          }),
        );
      }
    }
  }
}
