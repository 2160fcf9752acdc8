import { fork } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';

/**
 * The informer attacks of issue 20 item 11, measured: an API server that answers the pods
 * informer's LIST with 1,000,000 objects in pages (`objects`), or with 1,000 pods each carrying
 * a distinct 1 MiB label, 16 to a page (`labels`), while answering a LIST by selector
 * (`app=web`) with the two pods it selects. A child process under the Deployment's heap limit
 * (--max-old-space-size=320) runs the object informers and asks for `app=web` every 500 ms for
 * 40 s (or `seconds`). Printed: whether it lived, its peak RSS, its last answer and the informer's state.
 *
 * `control` serves the two pods alone, for the RSS of the same child with nothing to hold.
 *
 *   node --import tsx bench/informer-caps.ts objects|labels|control [seconds]
 */

const mode = process.argv[2] === 'labels' ? 'labels' : process.argv[2] === 'control' ? 'control' : 'objects';
const TOTAL = mode === 'objects' ? 1_000_000 : mode === 'labels' ? 1000 : 2;
const PAGE = mode === 'objects' ? 500 : 16;
const BLOB = 1024 * 1024;

function podJson(i: number) {
  const labels: Record<string, string> = { app: i < 2 ? 'web' : 'batch' };
  if (mode === 'labels' && i >= 2) labels.blob = String(i).padStart(BLOB, 'x');
  return { metadata: { name: `pod-${i}`, namespace: 'default', resourceVersion: '5', labels } };
}

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  res.setHeader('Content-Type', 'application/json');
  if (url.searchParams.get('watch')) {
    res.writeHead(200);
    res.write(`${JSON.stringify({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '5' } } })}\n`);
    return;
  }
  const selected = url.searchParams.get('labelSelector') === 'app=web';
  const start = Number(url.searchParams.get('continue') ?? 0);
  const end = selected ? 2 : Math.min(TOTAL, start + PAGE);
  const items = [];
  for (let i = selected ? 0 : start; i < end; i++) items.push(podJson(i));
  const metadata = { resourceVersion: '5', ...(end < TOTAL && !selected ? { continue: String(end) } : {}) };
  res.end(JSON.stringify({ kind: 'PartialObjectMetadataList', apiVersion: 'meta.k8s.io/v1', metadata, items }));
});

await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const child = fork(
  fileURLToPath(new URL('./support/informer-caps-child.ts', import.meta.url)),
  [String((server.address() as AddressInfo).port)],
  {
    execArgv: ['--import', 'tsx', '--max-old-space-size=320'],
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
  },
);
let stderr = '';
child.stderr?.on('data', (chunk) => {
  stderr += String(chunk);
});
const started = Date.now();
const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
if (code !== 0) {
  const last = stderr.trim().split('\n').slice(-3).join(' | ');
  console.log(
    JSON.stringify({
      mode,
      alive: false,
      exitCode: code,
      diedAfterSeconds: (Date.now() - started) / 1000,
      stderr: last.slice(0, 300),
    }),
  );
}
server.closeAllConnections();
server.close();
