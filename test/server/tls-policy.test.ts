import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { parseFlags } from '../../src/cli/flags.js';
import { silentLogger } from '../../src/observability/logger.js';
import { FlagError } from '../../src/schema/errors.js';
import { type RunningServer, serveHttps } from '../../src/server/serve.js';
import { loadServingCertificate } from '../../src/server/tls.js';
import type { TlsPolicy } from '../../src/server/tls-policy.js';
import { opensslClient } from '../support/openssl-client.js';

/** --tls-min-version / --tls-cipher-suites as kube-apiserver takes them, checked with openssl's client. */

const OPENSSL_MISSING = spawnSync('openssl', ['version']).error
  ? 'SKIPPED: openssl is not installed (apt-get install openssl); it offers the suites and versions under test'
  : false;
if (OPENSSL_MISSING) console.error(OPENSSL_MISSING);

/** Whether a handshake with exactly these openssl client options succeeds (async: the server runs in this process). */
async function handshakes(port: number, args: string[]): Promise<boolean> {
  return /Cipher is (?!\(NONE\))[A-Z0-9_-]+/.test(await opensslClient(port, args));
}

async function serving(policy: TlsPolicy): Promise<RunningServer> {
  return serveHttps({
    app: express(),
    certificate: await loadServingCertificate({}),
    clientCaPem: [],
    host: '127.0.0.1',
    port: 0,
    logger: silentLogger(),
    tlsPolicy: policy,
  });
}

describe('TLS policy flags', () => {
  it('takes kube-apiserver`s version and suite names, and refuses others naming the flag', () => {
    assert.deepEqual(parseFlags(['--tls-min-version=VersionTLS13']).tlsPolicy.minVersion, 'TLSv1.3');
    assert.equal(
      parseFlags(['--tls-cipher-suites=TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,TLS_AES_128_GCM_SHA256']).tlsPolicy
        .ciphers,
      'TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:ECDHE-ECDSA-AES256-GCM-SHA384',
    );
    assert.throws(() => parseFlags(['--tls-min-version=VersionTLS11']), FlagError);
    assert.throws(() => parseFlags(['--tls-min-version=1.2']), /--tls-min-version: expected one of VersionTLS12/);
    assert.throws(
      () => parseFlags(['--tls-cipher-suites=TLS_RSA_WITH_RC4_128_SHA']),
      /--tls-cipher-suites: "TLS_RSA_WITH_RC4_128_SHA" is not a cipher suite/,
    );
  });
});

describe('TLS offered by the server', { skip: OPENSSL_MISSING }, () => {
  let defaults: RunningServer;
  before(async () => {
    defaults = await serving(parseFlags([]).tlsPolicy);
  });
  after(async () => {
    await defaults?.drain(0);
  });

  it('by default: TLS 1.2 with AEAD suites and TLS 1.3; no TLS 1.1, CBC-SHA1, CCM8 or ARIA', async () => {
    const port = defaults.address.port;
    assert.ok(await handshakes(port, ['-tls1_3']), 'TLS 1.3');
    assert.ok(await handshakes(port, ['-tls1_2', '-cipher', 'ECDHE-ECDSA-AES128-GCM-SHA256']), 'TLS 1.2 AES-GCM');
    assert.ok(await handshakes(port, ['-tls1_2', '-cipher', 'ECDHE-ECDSA-CHACHA20-POLY1305']), 'TLS 1.2 ChaCha20');
    for (const cipher of [
      'ECDHE-ECDSA-AES128-SHA',
      'ECDHE-ECDSA-AES256-SHA',
      'ECDHE-ECDSA-AES128-CCM8',
      'ECDHE-ECDSA-ARIA128-GCM-SHA256',
    ]) {
      assert.equal(await handshakes(port, ['-tls1_2', '-cipher', cipher]), false, `${cipher} refused`);
    }
    assert.equal(await handshakes(port, ['-tls1_1', '-cipher', 'DEFAULT@SECLEVEL=0']), false, 'TLS 1.1 refused');
  });

  it('with --tls-min-version=VersionTLS13 refuses TLS 1.2; with --tls-cipher-suites offers only those', async () => {
    const tls13 = await serving(parseFlags(['--tls-min-version=VersionTLS13']).tlsPolicy);
    const one = await serving(parseFlags(['--tls-cipher-suites=TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384']).tlsPolicy);
    try {
      assert.equal(await handshakes(tls13.address.port, ['-tls1_2']), false);
      assert.ok(await handshakes(tls13.address.port, ['-tls1_3']));
      assert.ok(await handshakes(one.address.port, ['-tls1_2', '-cipher', 'ECDHE-ECDSA-AES256-GCM-SHA384']));
      assert.equal(await handshakes(one.address.port, ['-tls1_2', '-cipher', 'ECDHE-ECDSA-AES128-GCM-SHA256']), false);
    } finally {
      await tls13.drain(0);
      await one.drain(0);
    }
  });
});
