import { Writable } from 'node:stream';
import { createLogger } from '../../src/observability/logger.js';

/** A real JSON logger at `info` whose lines the test reads back as objects. */
export function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: createLogger('info', sink), lines };
}
