/**
 * TLS versions and cipher suites under the names Kubernetes components take them
 * (`--tls-min-version=VersionTLS12`, `--tls-cipher-suites=TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,…`,
 * Go's IANA names), translated to what OpenSSL understands.
 */
export interface TlsPolicy {
  minVersion: 'TLSv1.2' | 'TLSv1.3';
  /** An OpenSSL cipher string; TLS 1.3 suites (`TLS_…`) included. */
  ciphers: string;
}

export const TLS_VERSIONS: Readonly<Record<string, TlsPolicy['minVersion']>> = {
  VersionTLS12: 'TLSv1.2',
  VersionTLS13: 'TLSv1.3',
};

/** TLS 1.3 suites: always on, as in Go (which does not let them be configured). */
const TLS13_SUITES = ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256'];

/** Go's names of the TLS 1.2 suites OpenSSL 3 still offers, to OpenSSL's names. */
const TLS12_SUITES: Readonly<Record<string, string>> = {
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 'ECDHE-RSA-AES128-GCM-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 'ECDHE-ECDSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 'ECDHE-RSA-AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305: 'ECDHE-ECDSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-ECDSA-CHACHA20-POLY1305',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: 'ECDHE-ECDSA-AES128-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: 'ECDHE-ECDSA-AES256-SHA',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: 'ECDHE-RSA-AES128-SHA',
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: 'ECDHE-RSA-AES256-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256: 'ECDHE-ECDSA-AES128-SHA256',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256: 'ECDHE-RSA-AES128-SHA256',
  TLS_RSA_WITH_AES_128_CBC_SHA: 'AES128-SHA',
  TLS_RSA_WITH_AES_256_CBC_SHA: 'AES256-SHA',
  TLS_RSA_WITH_AES_128_CBC_SHA256: 'AES128-SHA256',
  TLS_RSA_WITH_AES_128_GCM_SHA256: 'AES128-GCM-SHA256',
  TLS_RSA_WITH_AES_256_GCM_SHA384: 'AES256-GCM-SHA384',
};

/**
 * Go's secure defaults for TLS 1.2: forward-secret AEAD suites only, so no CBC with SHA-1, no
 * CCM8 and no ARIA (which Node's default `HIGH` would offer).
 */
export const DEFAULT_TLS12_SUITES = [
  'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
  'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
  'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384',
  'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384',
  'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256',
  'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256',
];

export const DEFAULT_TLS_POLICY: TlsPolicy = tlsPolicy(undefined, undefined);

export class TlsPolicyError extends Error {}

/** The policy of `--tls-min-version` and `--tls-cipher-suites`; throws TlsPolicyError naming the flag. */
export function tlsPolicy(minVersion: string | undefined, cipherSuites: readonly string[] | undefined): TlsPolicy {
  const version = TLS_VERSIONS[minVersion ?? 'VersionTLS12'];
  if (version === undefined) {
    throw new TlsPolicyError(
      `--tls-min-version: expected one of ${Object.keys(TLS_VERSIONS).join(', ')}, got "${minVersion}" (TLS 1.0 and 1.1 are not offered)`,
    );
  }
  const suites = cipherSuites ?? DEFAULT_TLS12_SUITES;
  const tls12: string[] = [];
  for (const name of suites) {
    if (TLS13_SUITES.includes(name)) continue;
    const openssl = TLS12_SUITES[name];
    if (openssl === undefined) {
      throw new TlsPolicyError(
        `--tls-cipher-suites: "${name}" is not a cipher suite this server can offer; use Go's names, e.g. ${DEFAULT_TLS12_SUITES.slice(0, 2).join(',')}`,
      );
    }
    if (!tls12.includes(openssl)) tls12.push(openssl);
  }
  if (tls12.length === 0 && version === 'TLSv1.2') {
    throw new TlsPolicyError('--tls-cipher-suites: no TLS 1.2 suite given, so TLS 1.2 clients could not connect');
  }
  return { minVersion: version, ciphers: [...TLS13_SUITES, ...tls12].join(':') };
}
