import { PassThrough } from 'node:stream';
import { runExplain } from '../../src/cli/explain.js';

/** `hpa-metrics-adapter explain ARGV` in-process: its exit status and everything it printed. */
export async function explain(...argv: string[]): Promise<{ code: number; text: string }> {
  const out = new PassThrough();
  let text = '';
  out.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  const code = await runExplain(argv, out);
  return { code, text };
}
