import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Sha256 } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';

/**
 * An Amazon Managed Service for Prometheus stand-in: an HTTP server that checks every request's
 * SigV4 signature as AMP does, and passes the good ones to a real Prometheus. The signature is
 * recomputed from the request as it arrived (raw query string, headers it names as signed, the
 * body it carries) with the SDK's signer and the credentials the test gave, then compared; a
 * failure is a 403 with AMP's JSON body and `x-amzn-errortype`. Paths are AMP's
 * (`/workspaces/<id>/api/v1/...`), forwarded without the workspace prefix.
 */
export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface SigV4VerifierOptions extends Partial<Credentials> {
  /** The Prometheus the verified requests go to, e.g. `http://127.0.0.1:9090`. */
  upstream: string;
  region: string;
  service?: string;
  workspace?: string;
  /** The verifier's clock; default Date.now. */
  now?: () => number;
}

/** What the verifier decided about one request. */
export interface VerifiedRequest {
  method: string;
  /** The path as received, workspace prefix included. */
  path: string;
  rawQuery: string;
  body: string;
  /** The access key the request was signed with, as its Credential names it. */
  accessKeyId?: string;
  signedHeaders: string[];
  /** 'ok', or the x-amzn-errortype of the 403. */
  verdict: string;
  message?: string;
}

export interface SigV4Verifier {
  /** The workspace URL to configure, `http://127.0.0.1:PORT/workspaces/<id>`. */
  url: string;
  requests: VerifiedRequest[];
  /** From now on, signatures must be scoped to this region (the workspace "moved"). */
  expectRegion(region: string): void;
  /** Accepts these credentials too (each issued by a credentials endpoint, say). */
  accept(credentials: Credentials): void;
  close(): Promise<void>;
}

/** AMP (API Gateway) refuses a signature dated more than five minutes from its clock. */
const MAX_SKEW_MS = 5 * 60_000;

class Rejection extends Error {
  constructor(
    readonly errorType: string,
    message: string,
  ) {
    super(message);
  }
}

export async function startSigV4Verifier(options: SigV4VerifierOptions): Promise<SigV4Verifier> {
  const service = options.service ?? 'aps';
  const workspace = options.workspace ?? 'ws-00000000-0000-0000-0000-000000000000';
  const prefix = `/workspaces/${workspace}`;
  const now = options.now ?? Date.now;
  let expectedRegion = options.region;
  const requests: VerifiedRequest[] = [];
  const accepted = new Map<string, Credentials>();
  const accept = (credentials: Credentials) => accepted.set(credentials.accessKeyId, credentials);
  const { accessKeyId, secretAccessKey, sessionToken } = options;
  if (accessKeyId && secretAccessKey)
    accept({ accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) });

  async function verify(req: http.IncomingMessage, body: Buffer, record: VerifiedRequest): Promise<string[]> {
    const authorization = req.headers.authorization;
    if (authorization === undefined)
      throw new Rejection('MissingAuthenticationTokenException', 'Missing Authentication Token');
    const parsed =
      /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$/.exec(
        authorization,
      );
    if (!parsed)
      throw new Rejection(
        'IncompleteSignatureException',
        `Authorization header requires existence of Credential, SignedHeaders and Signature: ${authorization}`,
      );
    const [, keyId = '', , region, signingName, signedList = ''] = parsed;
    record.accessKeyId = keyId;
    const credentials = accepted.get(keyId);
    if (credentials === undefined)
      throw new Rejection('UnrecognizedClientException', 'The security token included in the request is invalid.');
    if (region !== expectedRegion)
      throw new Rejection(
        'InvalidSignatureException',
        `Credential should be scoped to a valid region. (got ${region})`,
      );
    if (signingName !== service)
      throw new Rejection('InvalidSignatureException', `Credential should be scoped to correct service: '${service}'.`);
    const signedHeaders = signedList.split(';');
    for (const required of ['host', 'x-amz-date', ...(credentials.sessionToken ? ['x-amz-security-token'] : [])]) {
      if (!signedHeaders.includes(required))
        throw new Rejection('IncompleteSignatureException', `'${required}' must be a signed header.`);
    }
    if (credentials.sessionToken && req.headers['x-amz-security-token'] !== credentials.sessionToken)
      throw new Rejection('UnrecognizedClientException', 'The security token included in the request is invalid.');
    const amzDate = String(req.headers['x-amz-date'] ?? '');
    const dated = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
    if (!dated) throw new Rejection('IncompleteSignatureException', `x-amz-date "${amzDate}" is not a date`);
    const signingDate = new Date(`${dated[1]}-${dated[2]}-${dated[3]}T${dated[4]}:${dated[5]}:${dated[6]}Z`);
    if (Math.abs(now() - signingDate.getTime()) > MAX_SKEW_MS)
      throw new Rejection(
        'InvalidSignatureException',
        `Signature expired: ${amzDate} is now earlier than ${new Date(now() - MAX_SKEW_MS).toISOString()}`,
      );
    const bodyHash = createHash('sha256').update(body).digest('hex');
    const claimedHash = req.headers['x-amz-content-sha256'];
    if (claimedHash !== undefined && claimedHash !== bodyHash)
      throw new Rejection(
        'InvalidSignatureException',
        "The provided 'x-amz-content-sha256' header does not match what was computed.",
      );
    const headers: Record<string, string> = {};
    for (const name of signedHeaders) {
      const value = req.headers[name];
      if (value === undefined) throw new Rejection('IncompleteSignatureException', `signed header ${name} is missing`);
      headers[name] = Array.isArray(value) ? value.join(',') : value;
    }
    const target = req.url ?? '/';
    const question = target.indexOf('?');
    const path = question === -1 ? target : target.slice(0, question);
    const signer = new SignatureV4({ credentials, region: expectedRegion, service, sha256: Sha256 });
    const recomputed = await signer.sign(
      {
        method: req.method ?? 'GET',
        protocol: 'http:',
        hostname: String(req.headers.host ?? '').replace(/:\d+$/, ''),
        path: decodeURIComponent(path),
        query: strictQuery(question === -1 ? '' : target.slice(question + 1)),
        headers,
        body: body.length > 0 ? body : undefined,
      },
      { signingDate, signingRegion: expectedRegion },
    );
    if (recomputed.headers.authorization !== authorization)
      throw new Rejection(
        'InvalidSignatureException',
        'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
      );
    return signedHeaders;
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const target = req.url ?? '/';
      const question = target.indexOf('?');
      const record: VerifiedRequest = {
        method: req.method ?? '',
        path: question === -1 ? target : target.slice(0, question),
        rawQuery: question === -1 ? '' : target.slice(question + 1),
        body: body.toString('utf8'),
        signedHeaders: [],
        verdict: 'ok',
      };
      requests.push(record);
      verify(req, body, record).then(
        (signedHeaders) => {
          record.signedHeaders = signedHeaders;
          forward(req, body, record, res);
        },
        (error: unknown) => {
          const rejection =
            error instanceof Rejection ? error : new Rejection('InternalFailure', (error as Error).message);
          record.verdict = rejection.errorType;
          record.message = rejection.message;
          res
            .writeHead(403, { 'content-type': 'application/json', 'x-amzn-errortype': rejection.errorType })
            .end(JSON.stringify({ message: rejection.message }));
        },
      );
    });
  });

  function forward(req: http.IncomingMessage, body: Buffer, record: VerifiedRequest, res: http.ServerResponse): void {
    if (!record.path.startsWith(`${prefix}/`)) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ message: 'Not Found' }));
      return;
    }
    const upstream = new URL(options.upstream);
    upstream.pathname = record.path.slice(prefix.length);
    upstream.search = record.rawQuery;
    const contentType = req.headers['content-type'];
    const proxied = http.request(
      upstream,
      { method: req.method, headers: contentType ? { 'content-type': contentType } : {} },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, {
          'content-type': answer.headers['content-type'] ?? 'application/json',
        });
        answer.pipe(res);
      },
    );
    proxied.on('error', (error) => res.writeHead(502).end(error.message));
    proxied.end(body);
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${prefix}`,
    requests,
    expectRegion(region) {
      expectedRegion = region;
    },
    accept,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * The query as AWS reads it: `name=value` pairs split on `&`, each percent-decoded, where `+` is a
 * plus sign (SigV4 has no form encoding): a client that sent `+` for a space signed something else.
 */
function strictQuery(raw: string): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  for (const pair of raw.split('&')) {
    if (pair === '') continue;
    const equals = pair.indexOf('=');
    const name = decodeURIComponent(equals === -1 ? pair : pair.slice(0, equals));
    const value = equals === -1 ? '' : decodeURIComponent(pair.slice(equals + 1));
    const held = query[name];
    query[name] = held === undefined ? value : [...(Array.isArray(held) ? held : [held]), value];
  }
  return query;
}
