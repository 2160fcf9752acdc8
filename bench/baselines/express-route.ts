import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { announce, baselineArgs } from './args.js';

/**
 * The framework's floor: one express 5 route sending the adapter's response bytes, with the
 * same app settings the adapter uses (no ETag, no X-Powered-By, no query parsing) and nothing else.
 */
const args = baselineArgs(process.argv.slice(2));
const app = express();
app.disable('x-powered-by');
app.disable('etag');
app.set('query parser', false);
// A Buffer and node's setHeader, so express adds no charset: the adapter sends `application/json`, as kube-apiserver does.
const body = Buffer.from(args.body);
app.get(args.path, (_req, res) => {
  res.setHeader('Content-Type', 'application/json');
  res.send(body);
});
const server = createServer({ cert: args.cert, key: args.key, minVersion: 'TLSv1.2' }, app);
server.listen(0, '127.0.0.1', () => announce((server.address() as AddressInfo).port));
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
