import { X509Certificate } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { DetailedPeerCertificate, TLSSocket } from 'node:tls';
import { perObject } from '../../lib/per-object.js';

/** A set of trusted CA certificates and the PEM text they came from. */
export interface CaBundle {
  /** Each certificate as its own PEM block, for the TLS server's `ca` list. */
  pem: string[];
  certificates: X509Certificate[];
}

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const ANY_EXTENDED_KEY_USAGE = '2.5.29.37.0';
// Kubernetes chains are root → (optional intermediate) → leaf; anything deeper is suspect.
const MAX_CHAIN_LENGTH = 8;

/** Parse a PEM bundle; throws an Error starting with `source` when it holds no valid certificate. */
export function parseCaBundle(text: string, source: string): CaBundle {
  const blocks = text.match(PEM_BLOCK) ?? [];
  if (blocks.length === 0)
    throw new Error(`${source}: no PEM certificate found (expected -----BEGIN CERTIFICATE-----)`);
  const certificates = blocks.map((block, index) => {
    try {
      return new X509Certificate(block);
    } catch (error) {
      throw new Error(
        `${source}: certificate ${index + 1} is not a valid X.509 PEM certificate: ${(error as Error).message}`,
      );
    }
  });
  return { pem: blocks.map((b) => `${b}\n`), certificates };
}

type PeerSocket = Pick<TLSSocket, 'getPeerCertificate' | 'disableRenegotiation'>;

/**
 * The client's certificate chain, leaf first, as the TLS handshake delivered it; empty when
 * the connection is not TLS or the client sent no certificate. The handshake has already
 * proved that the client holds the leaf's private key.
 */
export function peerCertificateChain(request: IncomingMessage): X509Certificate[] {
  const socket = request.socket as Partial<PeerSocket>;
  if (typeof socket.getPeerCertificate !== 'function') return [];
  return connectionChain(socket as PeerSocket);
}

/**
 * Read once per connection, at its first request: the peer certificate objects and their parses
 * cost more than the rest of a cached hit. Renegotiation (TLS 1.2), which could present another
 * certificate on the same connection, is refused from then on, as Go's TLS server
 * (kube-apiserver's) always refuses it.
 */
const connectionChain = perObject((socket: PeerSocket): X509Certificate[] => {
  socket.disableRenegotiation();
  const chain: X509Certificate[] = [];
  const seen = new Set<string>();
  let current: DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
  while (current?.raw && !seen.has(current.fingerprint256) && chain.length < MAX_CHAIN_LENGTH) {
    seen.add(current.fingerprint256);
    chain.push(new X509Certificate(current.raw));
    current = current.issuerCertificate;
  }
  return chain;
});

/**
 * Verify that the chain's leaf is a client certificate issued (directly or through CA
 * certificates the client sent) by one of the roots, every certificate valid at `now`, as
 * Go's x509.Verify does for kube's client-certificate authenticators. Returns why it is not,
 * or undefined when it is. The signatures are checked once per chain and roots (a connection's
 * chain is one array for its life, a CA bundle's until it is replaced), the dates every time.
 */
export function verifyClientChain(
  chain: readonly X509Certificate[],
  roots: readonly X509Certificate[],
  now: Date,
): string | undefined {
  const walk = chainWalk(chain)(roots);
  for (const certificate of walk.dated) {
    const dates = validityProblem(certificate, now);
    if (dates) return dates;
  }
  return walk.problem;
}

/**
 * The walk from the leaf towards a root, which depends on signatures only: the certificates
 * whose dates are checked, in Go's order, and what is wrong when every one of them is in date.
 */
interface ChainWalk {
  dated: readonly X509Certificate[];
  problem: string | undefined;
}

const chainWalk = perObject((chain: readonly X509Certificate[]) =>
  perObject((roots: readonly X509Certificate[]) => walkChain(chain, roots)),
);

function walkChain(chain: readonly X509Certificate[], roots: readonly X509Certificate[]): ChainWalk {
  const [leaf, ...presented] = chain;
  if (!leaf) return { dated: [], problem: 'no client certificate' };
  const usages = leaf.keyUsage;
  if (usages && usages.length > 0 && !usages.includes(CLIENT_AUTH) && !usages.includes(ANY_EXTENDED_KEY_USAGE)) {
    return { dated: [], problem: 'certificate is not valid for client authentication (extended key usage)' };
  }
  const dated: X509Certificate[] = [];
  let current = leaf;
  for (let depth = 0; depth < MAX_CHAIN_LENGTH; depth++) {
    dated.push(current);
    const root = roots.find((candidate) => issuedBy(current, candidate));
    if (root) return { dated: [...dated, root], problem: undefined };
    const next = presented.find((candidate) => candidate !== current && candidate.ca && issuedBy(current, candidate));
    if (!next) return { dated, problem: 'certificate signed by unknown authority' };
    current = next;
  }
  return { dated, problem: 'certificate chain is too long' };
}

export interface CertificateNames {
  commonName: string;
  organizations: string[];
}

/** Subject CN (the last one, as Go reads it) and every O, for user name and groups. */
export function certificateNames(certificate: X509Certificate): CertificateNames {
  return certificateFacts(certificate).names;
}

/** What the checks read of a certificate, read once per certificate object (toLegacyObject is slow). */
const certificateFacts = perObject((certificate: X509Certificate) => {
  const subject = certificate.toLegacyObject().subject as unknown as Record<string, string | string[] | undefined>;
  const list = (value: string | string[] | undefined): string[] =>
    value === undefined ? [] : Array.isArray(value) ? value : [value];
  return {
    names: { commonName: list(subject.CN).at(-1) ?? '', organizations: list(subject.O) },
    from: Date.parse(certificate.validFrom),
    to: Date.parse(certificate.validTo),
  };
});

function issuedBy(certificate: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return certificate.checkIssued(issuer) && certificate.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

function validityProblem(certificate: X509Certificate, now: Date): string | undefined {
  const {
    from,
    to,
    names: { commonName: cn },
  } = certificateFacts(certificate);
  if (Number.isNaN(from) || Number.isNaN(to)) return `certificate "${cn}" has unreadable validity dates`;
  const time = now.getTime();
  if (time < from || time > to) {
    return (
      `certificate "${cn}" has expired or is not yet valid: current time ${now.toISOString()} ` +
      `is outside ${new Date(from).toISOString()} – ${new Date(to).toISOString()}`
    );
  }
  return undefined;
}
