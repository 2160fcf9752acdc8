import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { connect } from 'node:tls';
import express from 'express';
import { silentLogger } from '../../src/observability/logger.js';
import { type RunningServer, serveHttps } from '../../src/server/serve.js';
import { type CertDir, createCertDir, type IssuedCert, issueServingCert, type TestCa } from '../support/certs.js';
import { opensslClient } from '../support/openssl-client.js';

/**
 * A certificate or CA reload that TLS cannot use must change nothing: before, a bad certificate
 * was kept as "current" and made every later CA rotation fail too (and the reverse), so what was
 * served, what the authenticator trusted and what the log said drifted apart.
 */

function servedFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      resolve(socket.getPeerCertificate().fingerprint256);
      socket.end();
    });
    socket.on('error', reject);
  });
}

/** The CA names the server asks client certificates of, as openssl's client sees them. */
async function acceptableCaNames(port: number): Promise<string> {
  const stdout = await opensslClient(port, ['-tls1_2']);
  const start = stdout.indexOf('Acceptable client certificate CA names');
  assert.ok(start >= 0, `openssl printed no CA names: ${stdout.slice(0, 500)}`);
  return stdout.slice(start, stdout.indexOf('Requested Signature', start));
}

let certs: CertDir;
let clientCaOne: TestCa;
let clientCaTwo: TestCa;
let servingOne: IssuedCert;
let servingTwo: IssuedCert;
let server: RunningServer;

const OPENSSL_MISSING = spawnSync('openssl', ['version']).error
  ? 'SKIPPED: openssl is not installed (apt-get install openssl); it reads the CA names the server asks for'
  : false;
if (OPENSSL_MISSING) console.error(OPENSSL_MISSING);

before(async () => {
  certs = await createCertDir('tls-swap-');
  clientCaOne = await certs.createCa('client-ca-one');
  clientCaTwo = await certs.createCa('client-ca-two');
  const servingCa = await certs.createCa('serving-ca');
  servingOne = await issueServingCert(servingCa);
  servingTwo = await issueServingCert(servingCa);
});

after(async () => {
  await certs?.cleanup();
});

async function start(): Promise<RunningServer> {
  server = await serveHttps({
    app: express(),
    certificate: { cert: servingOne.cert, key: servingOne.key, source: 'one' },
    clientCaPem: [clientCaOne.cert],
    host: '127.0.0.1',
    port: 0,
    logger: silentLogger(),
  });
  return server;
}

const fingerprintOf = async (issued: IssuedCert) => {
  const probe = await serveHttps({
    app: express(),
    certificate: { cert: issued.cert, key: issued.key, source: 'probe' },
    clientCaPem: [],
    host: '127.0.0.1',
    port: 0,
    logger: silentLogger(),
  });
  try {
    return await servedFingerprint(probe.address.port);
  } finally {
    await probe.drain(0);
  }
};

describe('serving certificate and client CA reloads are all or nothing', { skip: OPENSSL_MISSING }, () => {
  it('a certificate TLS refuses changes nothing, and a later CA rotation still applies', async () => {
    const running = await start();
    const port = running.address.port;
    try {
      const one = await fingerprintOf(servingOne);
      assert.equal(await servedFingerprint(port), one);
      // A renewed certificate paired with the wrong key, as a half-written Secret can be.
      assert.throws(() => running.updateCertificate({ cert: servingTwo.cert, key: servingOne.key, source: 'bad' }));
      assert.equal(await servedFingerprint(port), one, 'the previous certificate is still served');
      assert.match(await acceptableCaNames(port), /client-ca-one/);

      running.updateClientCa([clientCaTwo.cert]);
      const names = await acceptableCaNames(port);
      assert.match(names, /client-ca-two/, 'the CA rotation after the failed reload applies');
      assert.doesNotMatch(names, /client-ca-one/);
      assert.equal(await servedFingerprint(port), one, 'with the certificate that was serving');
    } finally {
      await running.drain(0);
    }
  });

  it('a CA rotation before a certificate TLS refuses stays in effect, and a later renewal applies with it', async () => {
    const running = await start();
    const port = running.address.port;
    try {
      running.updateClientCa([clientCaTwo.cert]);
      assert.throws(() => running.updateCertificate({ cert: servingTwo.cert, key: servingOne.key, source: 'bad' }));
      assert.match(await acceptableCaNames(port), /client-ca-two/, 'the rotated CAs are still asked for');
      assert.equal(await servedFingerprint(port), await fingerprintOf(servingOne));

      running.updateCertificate({ cert: servingTwo.cert, key: servingTwo.key, source: 'two' });
      assert.equal(await servedFingerprint(port), await fingerprintOf(servingTwo), 'the renewal applies');
      const names = await acceptableCaNames(port);
      assert.match(names, /client-ca-two/, 'with the CAs that were in use');
      assert.doesNotMatch(names, /client-ca-one/);
    } finally {
      await running.drain(0);
    }
  });
});
