import { Router } from 'express';
import type { VersionInfo } from '../../version.js';

export interface Readiness {
  /** False from the moment shutdown starts, so the Service stops sending new requests. */
  isReady(): boolean;
}

/**
 * Liveness and readiness answer from process state alone: a Prometheus or AWS outage must
 * not restart or unroute the adapter, which still serves cached values and discovery.
 */
export function createHealthRouter(readiness: Readiness, info: VersionInfo): Router {
  const router = Router();
  const ok = (_req: unknown, res: import('express').Response) => {
    res.type('text/plain').send('ok');
  };
  router.get('/healthz', ok);
  router.get('/livez', ok);
  router.get('/readyz', (_req, res) => {
    if (readiness.isReady()) res.type('text/plain').send('ok');
    else res.status(503).type('text/plain').send('shutting down');
  });
  router.get('/version', (_req, res) => {
    const [major = '0', minor = '0'] = info.version.split('.');
    res.json({
      major,
      minor,
      gitVersion: `v${info.version}`,
      gitCommit: info.gitCommit,
      gitTreeState: 'clean',
      buildDate: '',
      goVersion: '',
      compiler: 'node',
      platform: `${process.platform}/${process.arch}`,
    });
  });
  return router;
}
