import { createServer, type Server } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import type { Express } from 'express';
import { ApiError, toStatus } from '../api/errors.js';
import type { Logger } from '../observability/logger.js';
import type { ServingCertificate } from './tls.js';

export interface ServeOptions {
  app: Express;
  certificate: ServingCertificate;
  /** CAs whose client certificates the TLS handshake should request (front-proxy, client CA). */
  clientCaPem: readonly string[];
  host: string;
  port: number;
  logger: Logger;
}

export interface RunningServer {
  server: Server;
  address: AddressInfo;
  /**
   * Stops accepting connections, lets in-flight requests finish for up to graceMs, then
   * cuts what is left. Resolves with the number of requests that were still running at the end.
   */
  drain(graceMs: number): Promise<number>;
  /**
   * New client CAs (the cluster rotated its front-proxy CA): applies to new connections. Throws
   * when they cannot be used, and then nothing changed.
   */
  updateClientCa(clientCaPem: readonly string[]): void;
  /**
   * A renewed serving certificate (cert-manager rotated it): applies to new connections. Throws
   * when it cannot be used (a key that does not match, say), and then nothing changed.
   */
  updateCertificate(certificate: ServingCertificate): void;
}

/**
 * Requests Node's HTTP parser refuses (oversized headers, garbage) never reach express; answer
 * them with a Status too, so kubectl and the aggregator see a reason instead of a dropped socket.
 */
function answerUnparseableRequest(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (!socket.writable || (error.code === 'ECONNRESET' && socket.destroyed)) {
    socket.destroy();
    return;
  }
  const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
  const apiError = tooLarge
    ? new ApiError('RequestHeaderFieldsTooLarge', `request headers are larger than ${MAX_HEADER_BYTES / 1024} KiB`)
    : ApiError.badRequest(`malformed HTTP request: ${error.code ?? error.message}`);
  const body = JSON.stringify(toStatus(apiError));
  socket.end(
    `HTTP/1.1 ${apiError.code} ${tooLarge ? 'Request Header Fields Too Large' : 'Bad Request'}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
  // Closing while the client is still sending (the rest of an oversized header) makes the
  // kernel reset the connection, and the client may lose the answer: read and drop what it
  // still sends for a moment, then close.
  socket.resume();
  setTimeout(() => socket.destroy(), UNPARSEABLE_LINGER_MS).unref();
}

const UNPARSEABLE_LINGER_MS = 1000;

// Large enough for the aggregator's X-Remote-* and a long selector; small enough to bound memory.
const MAX_HEADER_BYTES = 32 * 1024;

interface TlsMaterial {
  certificate: ServingCertificate;
  clientCaPem: readonly string[];
}

function tlsOptions({ certificate, clientCaPem }: TlsMaterial): SecureContextOptions & {
  requestCert: boolean;
  rejectUnauthorized: boolean;
} {
  return {
    cert: certificate.cert,
    key: certificate.key,
    minVersion: 'TLSv1.2',
    // The authenticator verifies the chain itself so that one server can tell the
    // front-proxy CA from the client CA; the handshake only asks for a certificate.
    requestCert: clientCaPem.length > 0,
    rejectUnauthorized: false,
    ...(clientCaPem.length > 0 ? { ca: [...clientCaPem] } : {}),
  };
}

export async function serveHttps(options: ServeOptions): Promise<RunningServer> {
  /** What new connections are served with; replaced whole, only once a context was built from it. */
  let current: TlsMaterial = { certificate: options.certificate, clientCaPem: options.clientCaPem };
  const swap = (next: TlsMaterial): void => {
    const tls = tlsOptions(next);
    // Built first because it throws on a bad certificate, key or CA, while setSecureContext
    // would first keep the parts it was given: nothing changes unless all of it is usable.
    createSecureContext(tls);
    server.setSecureContext(tls);
    current = next;
  };
  const server = createServer({ ...tlsOptions(current), maxHeaderSize: MAX_HEADER_BYTES }, options.app);
  server.headersTimeout = 20_000;
  server.requestTimeout = 60_000;
  server.keepAliveTimeout = 65_000;

  let inflight = 0;
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  // One function for every response ('close' comes once each), not a closure per request.
  const answered = () => {
    inflight--;
  };
  server.on('request', (_req, res) => {
    inflight++;
    res.on('close', answered);
  });
  server.on('tlsClientError', (error) => options.logger.debug({ err: error.message }, 'TLS handshake failed'));
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => answerUnparseableRequest(error, socket));

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });

  return {
    server,
    address: server.address() as AddressInfo,
    updateClientCa(clientCaPem) {
      swap({ ...current, clientCaPem });
    },
    updateCertificate(certificate) {
      swap({ ...current, certificate });
    },
    async drain(graceMs: number): Promise<number> {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Keep-alive connections would hold close() open; idle ones go now, busy ones after their response.
      server.closeIdleConnections();
      const deadline = Date.now() + graceMs;
      while (inflight > 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 25));
        server.closeIdleConnections();
      }
      const left = inflight;
      server.closeAllConnections();
      for (const socket of sockets) socket.destroy();
      await closed;
      return left;
    },
  };
}
