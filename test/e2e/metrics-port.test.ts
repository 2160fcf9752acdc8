import assert from 'node:assert/strict';
import { get } from 'node:http';
import { describe, it } from 'node:test';
import { startAdapter } from '../support/adapter-process.js';
import { freePort } from '../support/free-port.js';

function fetchText(url: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    get(url, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c: string) => {
        text += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    }).on('error', reject);
  });
}

describe('--metrics-port', () => {
  it('serves the adapter metrics over plain HTTP, and nothing else', async () => {
    const port = await freePort();
    const adapter = await startAdapter({ args: ['--secure-port=0', `--metrics-port=${port}`] });
    try {
      const metrics = await fetchText(`http://127.0.0.1:${port}/metrics`);
      assert.equal(metrics.status, 200);
      assert.match(metrics.text, /hpa_metrics_adapter_process_resident_memory_bytes \d+/);
      assert.match(metrics.text, /# TYPE hpa_metrics_adapter_requests_total counter/);
      const other = await fetchText(`http://127.0.0.1:${port}/apis`);
      assert.equal(other.status, 404);
    } finally {
      assert.equal(await adapter.stop(), 0);
    }
  });
});
