import { type Agent, createServer, request as httpsRequest, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { ApiError, asApiError, toStatus } from '../../../src/api/errors.js';
import type { Authenticator } from '../../../src/server/auth/types.js';
import { clientCertificateRequest } from '../../../src/server/client-certificate-request.js';
import { type CertDir, createCertDir, type IssuedCert, issueServingCert, type TestCa } from '../../support/certs.js';

/** The CAs and certificates the auth tests share: kube's front-proxy and client CAs, and a stranger. */
export interface AuthPki {
  dir: CertDir;
  frontProxyCa: TestCa;
  clientCa: TestCa;
  otherCa: TestCa;
  servingCa: TestCa;
  serving: IssuedCert;
  /** CN=front-proxy-client from the front-proxy CA, as kube-apiserver's aggregator presents it. */
  frontProxyClient: IssuedCert;
}

export async function createAuthPki(): Promise<AuthPki> {
  const dir = await createCertDir('auth-test-');
  const [frontProxyCa, clientCa, otherCa, servingCa] = await Promise.all([
    dir.createCa('front-proxy-ca'),
    dir.createCa('kubernetes-client-ca'),
    dir.createCa('someone-elses-ca'),
    dir.createCa('serving-ca'),
  ]);
  const serving = await issueServingCert(servingCa);
  const frontProxyClient = await frontProxyCa.issue({ cn: 'front-proxy-client' });
  return { dir, frontProxyCa, clientCa, otherCa, servingCa, serving, frontProxyClient };
}

export interface ProbeAnswer {
  status: number;
  /** The authenticated user (200) or the Status body (errors). */
  body: {
    name?: string;
    uid?: string;
    groups?: string[];
    extra?: Record<string, string[]>;
    message?: string;
    reason?: string;
  };
}

export interface AuthProbe {
  /** A real TLS request, presenting `cert` (its chain and key) when given. */
  call(options?: {
    cert?: IssuedCert;
    headers?: Record<string, string | string[]>;
    /** A kept-alive agent to send several requests over one connection; default a fresh connection per call. */
    agent?: Agent;
  }): Promise<ProbeAnswer>;
  close(): Promise<void>;
  port: number;
}

/**
 * An HTTPS server that asks for client certificates as the adapter's does (the same
 * clientCertificateRequest options) and answers with what the authenticator made of the request.
 */
export async function startAuthProbe(
  authenticator: Authenticator,
  pki: AuthPki,
  clientCaPem: readonly string[],
): Promise<AuthProbe> {
  const server: Server = createServer(
    {
      cert: pki.serving.cert,
      key: pki.serving.key,
      ...clientCertificateRequest(clientCaPem),
      // Also with no CA, unlike the adapter: a test may present a certificate where none is configured.
      requestCert: true,
    },
    (req, res) => {
      authenticator.authenticate(req).then(
        (user) => {
          res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(user));
        },
        (error: unknown) => {
          const apiError = error instanceof ApiError ? error : asApiError(error);
          res.writeHead(apiError.code, { 'Content-Type': 'application/json' }).end(JSON.stringify(toStatus(apiError)));
        },
      );
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    call(options = {}) {
      return new Promise((resolve, reject) => {
        const req = httpsRequest(
          {
            host: '127.0.0.1',
            port,
            path: '/apis/custom.metrics.k8s.io/v1beta2',
            ca: pki.servingCa.cert,
            // A fresh connection per call: no TLS session from an earlier identity is reused.
            agent: options.agent ?? false,
            headers: options.headers,
            ...(options.cert ? { cert: options.cert.chain, key: options.cert.key } : {}),
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () =>
              resolve({
                status: res.statusCode ?? 0,
                body: JSON.parse(Buffer.concat(chunks).toString()) as ProbeAnswer['body'],
              }),
            );
          },
        );
        req.on('error', reject);
        req.end();
      });
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
