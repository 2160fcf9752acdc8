import { randomUUID } from 'node:crypto';
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The AWS JSON 1.0 protocol as the SDK's SQS and CloudWatch clients speak it (see
 * shared/aws-wire.md): `POST /`, `content-type: application/x-amz-json-1.0`, the operation in
 * `x-amz-target: <Prefix>.<Operation>`, a SigV4 `authorization` header, and errors as
 * `{"__type","message"}` with an `x-amzn-query-error` header. Requests that break these rules
 * are refused, so a test passing here means the real clients sent the real shapes.
 */

export interface RecordedCall {
  operation: string;
  body: Record<string, unknown>;
  /** From `amz-sdk-request: attempt=N; max=M`. */
  attempt: number;
  maxAttempts: number;
  headers: IncomingHttpHeaders;
  receivedAt: number;
}

/** An error reply as AWS sends it. */
export class AwsJsonError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
    readonly queryError?: string,
  ) {
    super(message);
  }
}

export type Failure =
  | { kind: 'throttle' }
  | { kind: 'status'; status: number; type?: string; message?: string; queryError?: string }
  /** Answer normally, but only after `ms` (longer than the client's timeout makes it time out). */
  | { kind: 'delay'; ms: number }
  | { kind: 'reset' }
  /** A 200 whose JSON body goes on for `bytes` (a broken proxy or endpoint), streamed with backpressure. */
  | { kind: 'huge'; bytes: number };

export type OperationHandler = (body: Record<string, unknown>) => unknown;

interface PlannedFailure {
  operation: string;
  failure: Failure;
  remaining: number;
}

export class AwsJsonServer {
  readonly calls: RecordedCall[] = [];
  private readonly server: Server;
  private readonly planned: PlannedFailure[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private port = 0;

  constructor(
    private readonly targetPrefix: string,
    private readonly handlers: Record<string, OperationHandler>,
  ) {
    this.server = createServer((request, response) => {
      this.handle(request, response).catch((error: unknown) => {
        if (!response.headersSent) this.sendError(response, new AwsJsonError(500, 'InternalFailure', String(error)));
      });
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async close(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  callsOf(operation: string): RecordedCall[] {
    return this.calls.filter((call) => call.operation === operation);
  }

  /** The next `times` calls of `operation` ('*' for any) fail this way, before any handler runs. */
  failNext(operation: string, failure: Failure, times = 1): void {
    this.planned.push({ operation, failure, remaining: times });
  }

  clearFailures(): void {
    this.planned.length = 0;
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const raw = await readBody(request);
    const target = headerValue(request.headers['x-amz-target']);
    const problem = protocolProblem(request, this.targetPrefix, target);
    if (problem) return this.sendError(response, new AwsJsonError(400, 'UnknownOperationException', problem));
    const operation = target.slice(this.targetPrefix.length + 1);
    const body = raw === '' ? {} : (JSON.parse(raw) as Record<string, unknown>);
    const [attempt, maxAttempts] = parseAttemptHeader(headerValue(request.headers['amz-sdk-request']));
    this.calls.push({ operation, body, attempt, maxAttempts, headers: request.headers, receivedAt: Date.now() });

    const failure = this.takeFailure(operation);
    if (failure?.kind === 'reset') {
      request.socket.destroy();
      return;
    }
    if (failure?.kind === 'huge') return streamHugeJson(response, failure.bytes);
    if (failure?.kind === 'throttle') {
      return this.sendError(response, new AwsJsonError(400, 'Throttling', 'Rate exceeded', 'Throttling;Sender'));
    }
    if (failure?.kind === 'status') {
      const type = failure.type ?? (failure.status >= 500 ? 'InternalFailure' : 'ValidationError');
      return this.sendError(
        response,
        new AwsJsonError(failure.status, type, failure.message ?? `injected ${failure.status}`, failure.queryError),
      );
    }
    if (failure?.kind === 'delay') await this.sleep(failure.ms);
    if (response.destroyed) return;

    const handler = this.handlers[operation];
    if (!handler) {
      return this.sendError(response, new AwsJsonError(400, 'UnknownOperationException', `no operation ${operation}`));
    }
    try {
      this.send(response, 200, handler(body));
    } catch (error) {
      if (error instanceof AwsJsonError) return this.sendError(response, error);
      throw error;
    }
  }

  private takeFailure(operation: string): Failure | undefined {
    const planned = this.planned.find((p) => p.operation === operation || p.operation === '*');
    if (!planned) return undefined;
    planned.remaining--;
    if (planned.remaining <= 0) this.planned.splice(this.planned.indexOf(planned), 1);
    return planned.failure;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.add(timer);
    });
  }

  private send(
    response: ServerResponse,
    status: number,
    body: unknown,
    extraHeaders: Record<string, string> = {},
  ): void {
    const text = JSON.stringify(body ?? {});
    response.writeHead(status, {
      'content-type': 'application/x-amz-json-1.0',
      'content-length': Buffer.byteLength(text),
      'x-amzn-requestid': randomUUID(),
      ...extraHeaders,
    });
    response.end(text);
  }

  private sendError(response: ServerResponse, error: AwsJsonError): void {
    const headers: Record<string, string> = {};
    if (error.queryError) headers['x-amzn-query-error'] = error.queryError;
    this.send(response, error.status, { __type: error.type, message: error.message }, headers);
  }
}

function protocolProblem(request: IncomingMessage, prefix: string, target: string): string | undefined {
  if (request.method !== 'POST' || request.url !== '/') return `expected POST /, got ${request.method} ${request.url}`;
  if (request.headers['content-type'] !== 'application/x-amz-json-1.0') {
    return `expected content-type application/x-amz-json-1.0, got ${request.headers['content-type']}`;
  }
  if (!target.startsWith(`${prefix}.`)) return `expected x-amz-target ${prefix}.<Operation>, got "${target}"`;
  if (!headerValue(request.headers.authorization).startsWith('AWS4-HMAC-SHA256 ')) return 'request is not SigV4-signed';
  return undefined;
}

function parseAttemptHeader(value: string): [number, number] {
  const attempt = /attempt=(\d+)/.exec(value)?.[1];
  const max = /max=(\d+)/.exec(value)?.[1];
  return [Number(attempt ?? 0), Number(max ?? 0)];
}

function headerValue(value: string | string[] | undefined): string {
  return Array.isArray(value) ? (value[0] ?? '') : (value ?? '');
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const MEBIBYTE = Buffer.alloc(1024 * 1024, 'x');

function streamHugeJson(response: ServerResponse, bytes: number): Promise<void> {
  response.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
  response.write('{"QueueUrl":"');
  let written = 0;
  return new Promise((resolve) => {
    const pump = () => {
      while (written < bytes && !response.destroyed) {
        written += MEBIBYTE.length;
        if (!response.write(MEBIBYTE)) {
          response.once('drain', pump);
          return;
        }
      }
      if (!response.destroyed) response.end('"}');
      resolve();
    };
    response.once('close', resolve);
    pump();
  });
}
