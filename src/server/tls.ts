import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { generate } from 'selfsigned';

export interface ServingCertificate {
  cert: string;
  key: string;
  /** Where it came from, for the start-up log line. */
  source: string;
}

export interface ServingCertificateOptions {
  tlsCertFile?: string;
  tlsPrivateKeyFile?: string;
  certDir?: string;
}

const CERT_NAME = 'apiserver.crt';
const KEY_NAME = 'apiserver.key';

/**
 * The serving certificate: the given files; else `apiserver.crt/.key` in --cert-dir (created
 * self-signed on first start, as generic apiservers do); else a self-signed one in memory.
 */
export async function loadServingCertificate(options: ServingCertificateOptions): Promise<ServingCertificate> {
  if (options.tlsCertFile || options.tlsPrivateKeyFile) {
    if (!options.tlsCertFile || !options.tlsPrivateKeyFile) {
      throw new Error('--tls-cert-file and --tls-private-key-file must be given together');
    }
    return {
      cert: await readPem(options.tlsCertFile, '--tls-cert-file'),
      key: await readPem(options.tlsPrivateKeyFile, '--tls-private-key-file'),
      source: options.tlsCertFile,
    };
  }
  if (options.certDir) {
    const certPath = join(options.certDir, CERT_NAME);
    const keyPath = join(options.certDir, KEY_NAME);
    try {
      return { cert: await readFile(certPath, 'utf8'), key: await readFile(keyPath, 'utf8'), source: certPath };
    } catch {
      const generated = await selfSigned();
      await mkdir(options.certDir, { recursive: true, mode: 0o700 });
      await writeFile(certPath, generated.cert, { mode: 0o600 });
      await writeFile(keyPath, generated.key, { mode: 0o600 });
      return { ...generated, source: `${certPath} (self-signed, generated)` };
    }
  }
  return { ...(await selfSigned()), source: 'self-signed, in memory' };
}

async function selfSigned(): Promise<{ cert: string; key: string }> {
  const names = ['localhost', hostname(), 'hpa-metrics-adapter', 'hpa-metrics-adapter.hpa-metrics-adapter.svc'];
  const altNames: { type: 2 | 7; value?: string; ip?: string }[] = [
    ...[...new Set(names)].map((value) => ({ type: 2 as const, value })),
    { type: 7, ip: '127.0.0.1' },
    { type: 7, ip: '::1' },
  ];
  const pems = await generate([{ name: 'commonName', value: 'hpa-metrics-adapter' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notAfterDate: new Date(Date.now() + 365 * 24 * 3600 * 1000),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

async function readPem(path: string, flag: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new Error(`${flag} ${path}: cannot read: ${(error as Error).message}`);
  }
  if (!text.includes('-----BEGIN ')) throw new Error(`${flag} ${path}: not a PEM file`);
  return text;
}
