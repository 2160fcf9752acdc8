import assert from 'node:assert/strict';
import { copyFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { connect } from 'node:tls';
import express from 'express';
import { silentLogger } from '../../src/observability/logger.js';
import { watchServingCertificate } from '../../src/server/certificate-watcher.js';
import { serveHttps } from '../../src/server/serve.js';
import { loadServingCertificate } from '../../src/server/tls.js';
import { createCertDir, issueServingCert } from '../support/certs.js';

function servedFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      resolve(socket.getPeerCertificate().fingerprint256);
      socket.end();
    });
    socket.on('error', reject);
  });
}

describe('serving certificate rotation', () => {
  it('serves a renewed certificate to new connections without a restart, and keeps the old one on a bad pair', async () => {
    const certs = await createCertDir('cert-rotation-');
    try {
      const ca = await certs.createCa('serving-ca');
      const first = await issueServingCert(ca);
      const second = await issueServingCert(ca);
      const files = { tlsCertFile: join(certs.dir, 'tls.crt'), tlsPrivateKeyFile: join(certs.dir, 'tls.key') };
      await copyFile(first.certPath, files.tlsCertFile);
      await copyFile(first.keyPath, files.tlsPrivateKeyFile);

      const running = await serveHttps({
        app: express(),
        certificate: await loadServingCertificate(files),
        clientCaPem: [],
        host: '127.0.0.1',
        port: 0,
        logger: silentLogger(),
      });
      const watcher = watchServingCertificate(files, running.updateCertificate, silentLogger(), 50);
      try {
        const before = await servedFingerprint(running.address.port);
        await copyFile(second.keyPath, `${files.tlsPrivateKeyFile}.new`);
        await copyFile(second.certPath, `${files.tlsCertFile}.new`);
        await rename(`${files.tlsPrivateKeyFile}.new`, files.tlsPrivateKeyFile);
        await rename(`${files.tlsCertFile}.new`, files.tlsCertFile);

        let after = before;
        for (let i = 0; i < 60 && after === before; i++) {
          await new Promise((r) => setTimeout(r, 50));
          after = await servedFingerprint(running.address.port);
        }
        assert.notEqual(after, before, 'the renewed certificate is served');

        await certs.writeText('tls.crt', 'not a certificate');
        await new Promise((r) => setTimeout(r, 300));
        assert.equal(
          await servedFingerprint(running.address.port),
          after,
          'a broken file does not replace a working certificate',
        );
      } finally {
        watcher.close();
        await running.drain(100);
      }
    } finally {
      await certs.cleanup();
    }
  });
});
