import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { announce, baselineArgs } from './args.js';

/** The floor of the platform: node:https answering every request with the adapter's response bytes. */
const args = baselineArgs(process.argv.slice(2));
const body = Buffer.from(args.body, 'utf8');
const headers = { 'content-type': 'application/json', 'content-length': String(body.length) };
const server = createServer({ cert: args.cert, key: args.key, minVersion: 'TLSv1.2' }, (_req, res) => {
  res.writeHead(200, headers);
  res.end(body);
});
server.listen(0, '127.0.0.1', () => announce((server.address() as AddressInfo).port));
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
