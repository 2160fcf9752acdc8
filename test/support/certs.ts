import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from 'selfsigned';

/** A certificate and its key, as PEM strings and as files in the test's temp directory. */
export interface IssuedCert {
  cert: string;
  key: string;
  /** The certificate followed by its intermediates (not the root), as a client or server presents it. */
  chain: string;
  certPath: string;
  keyPath: string;
  chainPath: string;
}

export interface IssueOptions {
  cn: string;
  /** Subject O values: the groups of a client-certificate user. No commas (selfsigned splits on them). */
  organizations?: string[];
  /** Default 'client'. */
  usage?: 'client' | 'server' | 'both';
  dnsNames?: string[];
  ips?: string[];
  /** Default: an hour ago. */
  notBefore?: Date;
  /** Default: a day from now. */
  notAfter?: Date;
}

export interface TestCa extends IssuedCert {
  name: string;
  /** This CA and its parents below the root, as PEM ('' for a root): what issued certificates append. */
  intermediatesPem: string;
  issue(options: IssueOptions): Promise<IssuedCert>;
  /** A CA signed by this one, whose issued certificates carry it in their chain. */
  intermediate(name: string): Promise<TestCa>;
}

export interface CertDir {
  dir: string;
  /** A self-signed root CA; EC P-256 keys, so a dozen certificates take well under a second. */
  createCa(name: string, validity?: { notBefore?: Date; notAfter?: Date }): Promise<TestCa>;
  /** Write several PEM blocks into one bundle file (e.g. two CAs for --client-ca-file). */
  writeBundle(fileName: string, pems: readonly string[]): Promise<string>;
  /** Write any text into the directory; returns the path. */
  writeText(fileName: string, text: string): Promise<string>;
  cleanup(): Promise<void>;
}

const HOUR = 3600_000;

export async function createCertDir(prefix = 'hpa-adapter-certs-'): Promise<CertDir> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  let counter = 0;
  const fileBase = (name: string) =>
    join(dir, `${String(++counter).padStart(2, '0')}-${name.replace(/[^A-Za-z0-9_.-]/g, '_')}`);

  async function store(name: string, rawCert: string, key: string, rawChain: string): Promise<IssuedCert> {
    const cert = withNewline(rawCert);
    const chain = rawChain === rawCert ? cert : withNewline(rawChain);
    const base = fileBase(name);
    const certPath = `${base}.crt`;
    const keyPath = `${base}.key`;
    const chainPath = `${base}-chain.crt`;
    await Promise.all([
      writeFile(certPath, cert),
      writeFile(keyPath, key, { mode: 0o600 }),
      writeFile(chainPath, chain),
    ]);
    return { cert, key, chain, certPath, keyPath, chainPath };
  }

  async function makeCa(
    name: string,
    signer: TestCa | undefined,
    validity: { notBefore?: Date; notAfter?: Date },
  ): Promise<TestCa> {
    const pems = await generate([{ name: 'commonName', value: name }], {
      keyType: 'ec',
      algorithm: 'sha256',
      notBeforeDate: validity.notBefore ?? new Date(Date.now() - HOUR),
      notAfterDate: validity.notAfter ?? new Date(Date.now() + 24 * HOUR),
      extensions: [
        { name: 'basicConstraints', cA: true, critical: true },
        { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
      ],
      ...(signer ? { ca: { key: signer.key, cert: signer.cert } } : {}),
    });
    const intermediatesPem = signer ? withNewline(pems.cert) + signer.intermediatesPem : '';
    const stored = await store(
      name,
      pems.cert,
      pems.private,
      withNewline(pems.cert) + (signer?.intermediatesPem ?? ''),
    );
    const ca: TestCa = {
      ...stored,
      name,
      intermediatesPem,
      issue: (options) => issue(ca, options),
      intermediate: (childName) => makeCa(childName, ca, {}),
    };
    return ca;
  }

  async function issue(ca: TestCa, options: IssueOptions): Promise<IssuedCert> {
    const usage = options.usage ?? 'client';
    const attrs = [
      { name: 'commonName', value: options.cn },
      ...(options.organizations ?? []).map((o) => ({ name: 'organizationName', value: o })),
    ];
    const altNames = [
      ...(options.dnsNames ?? []).map((value) => ({ type: 2 as const, value })),
      ...(options.ips ?? []).map((ip) => ({ type: 7 as const, ip })),
    ];
    const pems = await generate(attrs, {
      keyType: 'ec',
      algorithm: 'sha256',
      notBeforeDate: options.notBefore ?? new Date(Date.now() - HOUR),
      notAfterDate: options.notAfter ?? new Date(Date.now() + 24 * HOUR),
      ca: { key: ca.key, cert: ca.cert },
      extensions: [
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
        { name: 'extKeyUsage', clientAuth: usage !== 'server', serverAuth: usage !== 'client' },
        ...(altNames.length > 0 ? [{ name: 'subjectAltName' as const, altNames }] : []),
      ],
    });
    return store(options.cn, pems.cert, pems.private, withNewline(pems.cert) + ca.intermediatesPem);
  }

  return {
    dir,
    createCa: (name, validity = {}) => makeCa(name, undefined, validity),
    async writeBundle(fileName, pems) {
      const path = join(dir, fileName);
      await writeFile(path, pems.map(withNewline).join(''));
      return path;
    },
    async writeText(fileName, text) {
      const path = join(dir, fileName);
      await writeFile(path, text);
      return path;
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/** A serving certificate for 127.0.0.1 / localhost / ::1 from the given CA. */
export function issueServingCert(ca: TestCa, cn = 'localhost'): Promise<IssuedCert> {
  return ca.issue({ cn, usage: 'server', dnsNames: ['localhost'], ips: ['127.0.0.1', '::1'] });
}

// selfsigned's PEM has no final newline; concatenated blocks would run into each other.
function withNewline(pem: string): string {
  return pem.endsWith('\n') ? pem : `${pem}\n`;
}
