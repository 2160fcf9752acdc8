import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

/** What every baseline server is given: the adapter's TLS certificate and the exact response it sends. */
export interface BaselineArgs {
  cert: string;
  key: string;
  /** The path the adapter answered, served by the express baseline as a literal route. */
  path: string;
  body: string;
}

export function baselineArgs(argv: readonly string[]): BaselineArgs {
  const { values } = parseArgs({
    args: [...argv],
    options: { cert: { type: 'string' }, key: { type: 'string' }, body: { type: 'string' }, path: { type: 'string' } },
  });
  const { cert, key, body, path } = values;
  if (!cert || !key || !body || !path) throw new Error('usage: --cert FILE --key FILE --body FILE --path PATH');
  return { cert: readFileSync(cert, 'utf8'), key: readFileSync(key, 'utf8'), path, body: readFileSync(body, 'utf8') };
}

/** The line the bench waits for, shaped like the adapter's own "serving" log line. */
export function announce(port: number): void {
  console.log(JSON.stringify({ msg: 'serving', port }));
}
