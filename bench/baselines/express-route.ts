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
app.get(args.path, (_req, res) => {
  res.type('application/json').send(args.body);
});
const server = createServer({ cert: args.cert, key: args.key, minVersion: 'TLSv1.2' }, app);
server.listen(0, '127.0.0.1', () => announce((server.address() as AddressInfo).port));
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
