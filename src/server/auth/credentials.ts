import type { X509Certificate } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { ApiError } from '../../api/errors.js';
import type { Authenticator, UserInfo } from './types.js';
import { peerCertificateChain } from './x509.js';

/** What a request presented, read once and shared by every authenticator. */
export interface RequestCredentials {
  /** The TLS client certificate chain, leaf first; empty when none was sent. */
  chain: X509Certificate[];
  bearerToken: string | undefined;
  /** Every header value separately (repeated X-Remote-Group lines are not comma-joined). */
  headers: NodeJS.Dict<string[]>;
}

export type CredentialOutcome =
  | { kind: 'authenticated'; user: UserInfo }
  /** This kind of credential was not presented, or this authenticator is not configured. */
  | { kind: 'absent' }
  /** Presented but not accepted; `final` stops the next authenticators from being tried. */
  | { kind: 'rejected'; reason: string; final?: boolean };

/** One way to authenticate (front-proxy, client certificate, token), tried in turn by the union. */
export interface CredentialAuthenticator {
  authenticate(credentials: RequestCredentials): Promise<CredentialOutcome>;
}

export function readCredentials(request: IncomingMessage): RequestCredentials {
  return {
    chain: peerCertificateChain(request),
    bearerToken: bearerToken(request.headersDistinct.authorization?.[0]),
    headers: request.headersDistinct,
  };
}

/**
 * `Authorization: Bearer <token>` as kube reads it: the scheme is case-insensitive and the
 * token is the second space-separated field; anything else is no token at all.
 */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const parts = header.trim().split(' ');
  if (parts.length < 2 || parts[0]?.toLowerCase() !== 'bearer') return undefined;
  const token = parts[1];
  return token === undefined || token === '' ? undefined : token;
}

/**
 * Tries each authenticator in order, as kube's union authenticator does: the first that
 * authenticates wins; a rejection moves on to the next (unless final); when none succeeds
 * the 401 names every reason, or says that no credentials were presented at all.
 * ApiError.unavailable from an authenticator (TokenReview unreachable) propagates as 503.
 */
export function createUnionAuthenticator(authenticators: readonly CredentialAuthenticator[]): Authenticator {
  return {
    async authenticate(request) {
      const credentials = readCredentials(request);
      const reasons: string[] = [];
      for (const authenticator of authenticators) {
        const outcome = await authenticator.authenticate(credentials);
        if (outcome.kind === 'authenticated') return outcome.user;
        if (outcome.kind === 'rejected') {
          if (outcome.final) throw ApiError.unauthorized(`Unauthorized: ${outcome.reason}`);
          reasons.push(outcome.reason);
        }
      }
      if (reasons.length === 0 && credentials.chain.length > 0) {
        throw ApiError.unauthorized(
          'Unauthorized: a client certificate was presented but no request-header or client CA is configured to verify it, and no bearer token was presented',
        );
      }
      if (reasons.length === 0)
        throw ApiError.unauthorized('Unauthorized: no client certificate or bearer token presented');
      throw ApiError.unauthorized(`Unauthorized: ${reasons.join('; ')}`);
    },
  };
}
