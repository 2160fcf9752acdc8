import { percentDecoded } from '../../lib/text.js';
import type { CredentialAuthenticator, CredentialOutcome, RequestCredentials } from './credentials.js';
import type { UserInfo } from './types.js';
import { type CaBundle, certificateNames, verifyClientChain } from './x509.js';

/** The front-proxy (request-header) settings, from flags or the extension-apiserver-authentication ConfigMap. */
export interface RequestHeaderConfig {
  ca: CaBundle;
  /** CNs the front-proxy certificate may have; empty accepts any CN the CA signed. */
  allowedNames: string[];
  usernameHeaders: string[];
  uidHeaders: string[];
  groupHeaders: string[];
  extraHeaderPrefixes: string[];
}

/**
 * The aggregator's way in: a client certificate issued by the request-header CA, with an
 * allowed CN, vouches for the user named in X-Remote-User / X-Remote-Group /
 * X-Remote-Extra-*. Without such a certificate those headers are never read.
 * `config` is read per request so a refreshed ConfigMap takes effect without a restart.
 */
export function createRequestHeaderAuthenticator(
  config: () => RequestHeaderConfig | undefined,
  now: () => Date = () => new Date(),
): CredentialAuthenticator {
  return {
    async authenticate(credentials: RequestCredentials): Promise<CredentialOutcome> {
      const current = config();
      const leaf = credentials.chain[0];
      if (!current || !leaf) return { kind: 'absent' };
      const cn = certificateNames(leaf).commonName;
      const problem = verifyClientChain(credentials.chain, current.ca.certificates, now());
      if (problem) {
        return {
          kind: 'rejected',
          reason: `client certificate "${cn}" is not a front-proxy certificate of the request-header CA: ${problem}`,
        };
      }
      if (current.allowedNames.length > 0 && !current.allowedNames.includes(cn)) {
        return {
          kind: 'rejected',
          reason: `front-proxy client certificate CN "${cn}" is not in the allowed names [${current.allowedNames.join(', ')}] (--requestheader-allowed-names)`,
        };
      }
      const user = userFromHeaders(credentials.headers, current);
      if (!user) {
        return {
          kind: 'rejected',
          final: true,
          reason: `front-proxy client certificate "${cn}" is valid but the request names no user (no ${current.usernameHeaders.join(' or ')} header)`,
        };
      }
      return { kind: 'authenticated', user };
    },
  };
}

/** The user the front proxy asserts, read as kube's requestheader authenticator reads it. */
export function userFromHeaders(headers: NodeJS.Dict<string[]>, config: RequestHeaderConfig): UserInfo | undefined {
  const name = firstValue(headers, config.usernameHeaders);
  if (name === undefined) return undefined;
  const user: UserInfo = {
    name,
    groups: allValues(headers, config.groupHeaders),
    extra: extraValues(headers, config.extraHeaderPrefixes),
  };
  const uid = firstValue(headers, config.uidHeaders);
  if (uid !== undefined) user.uid = uid;
  return user;
}

function firstValue(headers: NodeJS.Dict<string[]>, names: readonly string[]): string | undefined {
  for (const name of names) {
    const value = headers[name.toLowerCase()]?.[0];
    if (value !== undefined && value !== '') return value;
  }
  return undefined;
}

// Each header line is one group, even when it contains commas, exactly as kube reads it.
function allValues(headers: NodeJS.Dict<string[]>, names: readonly string[]): string[] {
  return names.flatMap((name) => (headers[name.toLowerCase()] ?? []).filter((value) => value !== ''));
}

function extraValues(headers: NodeJS.Dict<string[]>, prefixes: readonly string[]): Record<string, string[]> {
  // A Map, not an object literal: a header named X-Remote-Extra-__proto__ must stay a plain key.
  const extra = new Map<string, string[]>();
  const lowerPrefixes = prefixes.map((p) => p.toLowerCase());
  for (const [header, values] of Object.entries(headers)) {
    for (const prefix of lowerPrefixes) {
      if (!values || !header.startsWith(prefix)) continue;
      const key = unescapeExtraKey(header.slice(prefix.length));
      extra.set(key, [...(extra.get(key) ?? []), ...values]);
    }
  }
  return Object.fromEntries(extra);
}

// Header names cannot carry every character an extra key may hold, so the proxy percent-encodes
// them; a key that does not decode is kept as sent, as kube keeps it.
function unescapeExtraKey(encoded: string): string {
  return percentDecoded(encoded) ?? encoded;
}
