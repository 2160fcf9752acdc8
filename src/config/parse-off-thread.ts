import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { type ParsedYaml, parseYamlText, YAML_OPTIONS } from './yaml-text.js';

/**
 * Texts smaller than this are parsed in place: starting a worker costs more than they do. Larger
 * ones held the event loop, and /livez with it: 2.96 s for a 0.98 MB config (issue 20 item 12).
 */
export const OFF_THREAD_MIN_BYTES = 64 * 1024;

// parseYamlText's steps, as source for the worker: a module of its own could not be loaded there
// under tsx (tests, bench), whose loader does not reach worker threads on Node 20.
const WORKER_SOURCE = `
import { parentPort, workerData } from 'node:worker_threads';
import { parseDocument } from ${JSON.stringify(pathToFileURL(createRequire(import.meta.url).resolve('yaml')).href)};
const document = parseDocument(workerData.text, workerData.options);
const first = document.errors[0];
parentPort.postMessage(first ? { error: first.message } : { value: document.toJS() ?? {} });
`;
const WORKER_URL = new URL(`data:text/javascript,${encodeURIComponent(WORKER_SOURCE)}`);

/** parseYamlText in a worker thread for a large text, so the event loop keeps answering while it runs. */
export function parseYamlOffThread(text: string, minBytes = OFF_THREAD_MIN_BYTES): Promise<ParsedYaml> {
  if (Buffer.byteLength(text) < minBytes) return Promise.resolve(parseYamlText(text));
  return new Promise((resolve) => {
    const worker = new Worker(WORKER_URL, { workerData: { text, options: YAML_OPTIONS } });
    let settled = false;
    const settle = (parsed: ParsedYaml) => {
      if (settled) return;
      settled = true;
      resolve(parsed);
      void worker.terminate();
    };
    worker.once('message', (parsed: ParsedYaml) => settle(parsed));
    worker.once('error', (error) => settle({ error: `the YAML parser failed: ${error.message}` }));
    worker.once('exit', (code) => settle({ error: `the YAML parser stopped (exit code ${code}) before answering` }));
  });
}
