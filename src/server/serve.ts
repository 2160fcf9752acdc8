import { createServer, type Server } from 'node:https';
import { type AddressInfo, Server as NetServer, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createSecureContext, type SecureContextOptions, type TLSSocket } from 'node:tls';
import type { Express } from 'express';
import type { Registry } from 'prom-client';
import { ApiError, toStatus } from '../api/errors.js';
import type { Logger } from '../observability/logger.js';
import { clientCertificateRequest } from './client-certificate-request.js';
import { ConnectionSlots } from './connection-slots.js';
import type { ServingCertificate } from './tls.js';
import { DEFAULT_TLS_POLICY, type TlsPolicy } from './tls-policy.js';

export interface ServeOptions {
  app: Express;
  certificate: ServingCertificate;
  /** CAs whose client certificates the TLS handshake should request (front-proxy, client CA). */
  clientCaPem: readonly string[];
  host: string;
  port: number;
  logger: Logger;
  /** TLS versions and suites (--tls-min-version, --tls-cipher-suites). Default: TLS 1.2+, AEAD suites only. */
  tlsPolicy?: TlsPolicy;
  /**
   * Open connections at most (--max-connections); when full, a newcomer takes the slot of the
   * oldest connection that has not sent a request yet (connection-slots.ts). Default 1000.
   */
  maxConnections?: number;
  /** Where the connections closed early are counted. */
  registry?: Registry;
}

export interface RunningServer {
  server: Server;
  address: AddressInfo;
  /** From now on every response closes its connection, so clients move to another replica. */
  closeConnectionsAfterResponses(): void;
  /**
   * Stops accepting connections and lets in-flight requests finish for up to graceMs, then
   * cuts what is left. Resolves with the number of requests that were still running at the end.
   * A kept-alive connection is closed only once it has been idle for a while (a client about
   * to reuse it would get a reset); every other one closes after its next response.
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

/**
 * Connection bounds, deliberate rather than Node's defaults: a client that connects and never
 * completes the handshake holds memory in OpenSSL (floods of those grew RSS past a GiB), so it
 * is cut after a few seconds; headers must arrive within 20 s, a whole request within 60 s; an
 * idle kept-alive connection lives 65 s, longer than the aggregator's own idle timeout would
 * reuse it, so the client closes it first and never races our close.
 */
const HANDSHAKE_TIMEOUT_MS = 5_000;
const HEADERS_TIMEOUT_MS = 20_000;
const REQUEST_TIMEOUT_MS = 60_000;
const KEEP_ALIVE_TIMEOUT_MS = 65_000;
export const DEFAULT_MAX_CONNECTIONS = 1000;
/**
 * Connections the kernel completes while the process has not accepted them yet. Node's 511 was
 * overrun by bursts of reconnecting silent clients, and a real client whose connection the
 * kernel dropped then waited a second or more for its retransmission; the kernel caps this at
 * net.core.somaxconn (4096 by default since Linux 5.4).
 */
const LISTEN_BACKLOG = 4096;
/** While draining, a kept-alive connection idle this long is closed; a busier client gets Connection: close. */
const DRAIN_IDLE_MS = 2_000;

interface TlsMaterial {
  certificate: ServingCertificate;
  clientCaPem: readonly string[];
  policy: TlsPolicy;
}

function tlsOptions({ certificate, clientCaPem, policy }: TlsMaterial): SecureContextOptions & {
  requestCert: boolean;
  rejectUnauthorized: boolean;
} {
  return {
    cert: certificate.cert,
    key: certificate.key,
    minVersion: policy.minVersion,
    ciphers: policy.ciphers,
    // The authenticator verifies the chain itself so that one server can tell the
    // front-proxy CA from the client CA; the handshake only asks for a certificate.
    ...clientCertificateRequest(clientCaPem),
  };
}

export async function serveHttps(options: ServeOptions): Promise<RunningServer> {
  /** What new connections are served with; replaced whole, only once a context was built from it. */
  let current: TlsMaterial = {
    certificate: options.certificate,
    clientCaPem: options.clientCaPem,
    policy: options.tlsPolicy ?? DEFAULT_TLS_POLICY,
  };
  const swap = (next: TlsMaterial): void => {
    const tls = tlsOptions(next);
    // Built first because it throws on a bad certificate, key or CA, while setSecureContext
    // would first keep the parts it was given: nothing changes unless all of it is usable.
    createSecureContext(tls);
    server.setSecureContext(tls);
    current = next;
  };
  const server = createServer(
    { ...tlsOptions(current), maxHeaderSize: MAX_HEADER_BYTES, handshakeTimeout: HANDSHAKE_TIMEOUT_MS },
    options.app,
  );
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  const slots = new ConnectionSlots({
    maxConnections: options.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
    ...(options.registry ? { registry: options.registry } : {}),
  });

  let inflight = 0;
  let closeAfterResponse = false;
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    slots.admit(socket);
  });
  /**
   * Per TLS connection: requests running on it, when it last finished one (or was opened), and
   * whether it has sent one (the slots are told once per connection, not on every request).
   */
  const connections = new Map<TLSSocket, { busy: number; lastActive: number; ending: boolean; requested: boolean }>();
  server.on('secureConnection', (socket: TLSSocket) => {
    connections.set(socket, { busy: 0, lastActive: Date.now(), ending: false, requested: false });
    socket.once('close', () => connections.delete(socket));
  });
  // Before the app's listener, which may answer at once: headers can only be set before that.
  server.prependListener('request', (req, res) => {
    inflight++;
    const state = connections.get(req.socket as TLSSocket);
    if (!state?.requested) {
      slots.requested(req.socket.remoteAddress, req.socket.remotePort);
      if (state) state.requested = true;
    }
    if (closeAfterResponse) res.setHeader('Connection', 'close');
    if (state) state.busy++;
    // 'close' comes once per response: `on` spares the wrapper `once` would make per request.
    res.on('close', () => {
      inflight--;
      if (state) {
        state.busy--;
        state.lastActive = Date.now();
      }
    });
  });
  server.on('tlsClientError', (error) => options.logger.debug({ err: error.message }, 'TLS handshake failed'));
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => answerUnparseableRequest(error, socket));

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: options.port, host: options.host, backlog: LISTEN_BACKLOG }, () => {
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
    closeConnectionsAfterResponses() {
      closeAfterResponse = true;
    },
    async drain(graceMs: number): Promise<number> {
      closeAfterResponse = true;
      // net.Server's close stops accepting and nothing more: the https server's own close()
      // also cuts every idle kept-alive connection at once, resetting requests clients are
      // sending on them at that moment.
      const closed = new Promise<void>((resolve) => NetServer.prototype.close.call(server, () => resolve()));
      const deadline = Date.now() + graceMs;
      for (;;) {
        const now = Date.now();
        for (const [socket, state] of connections) {
          if (state.busy === 0 && !state.ending && now - state.lastActive >= DRAIN_IDLE_MS) {
            state.ending = true;
            socket.end();
          }
        }
        if (sockets.size === 0 || now >= deadline) break;
        await new Promise((r) => setTimeout(r, 25));
      }
      const left = inflight;
      server.closeAllConnections();
      for (const socket of sockets) socket.destroy();
      await closed;
      return left;
    },
  };
}
