import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { readBoundedJson } from '../src/io/bounded-body.js';
import { ResponseBudget } from '../src/io/response-budget.js';
import { ratio, round } from './support/stats.js';

/**
 * CPU per Prometheus answer read by readBoundedJson, with and without a Content-Length, for the
 * sizes it parses whole (up to 1 MiB): Prometheus declares the length of small answers, but a
 * proxy in front of it may send them chunked. The bodies come as an HTTP response's do, in 16 KiB
 * chunks; the two cases alternate, one body each, in one run. With --compare-build=…/main.js the
 * same is measured for that build's reader beside this one's.
 */

type Reader = typeof readBoundedJson;

const CHUNK_BYTES = 16 * 1024;
const CASES = [
  { bodyBytes: 4 * 1024, bodies: 20_000 },
  { bodyBytes: 256 * 1024, bodies: 1_000 },
];

/** A Prometheus vector answer of about `bytes` bytes. */
function vectorAnswer(bytes: number): Buffer {
  const sample = {
    metric: { __name__: 'http_requests_total', pod: 'web-0000', namespace: 'default' },
    value: [1, '1'],
  };
  const each = JSON.stringify(sample).length + 1;
  const result = Array.from({ length: Math.max(1, Math.floor(bytes / each)) }, () => sample);
  return Buffer.from(JSON.stringify({ status: 'success', data: { resultType: 'vector', result } }));
}

/** The body's chunks all at once, as a response whose bytes have all arrived gives them. */
function bodyStream(chunks: readonly Buffer[], declared: number | undefined): Readable {
  const stream = new Readable({
    read() {
      for (const chunk of chunks) this.push(chunk);
      this.push(null);
    },
  });
  return Object.assign(stream, {
    headers: declared === undefined ? { 'transfer-encoding': 'chunked' } : { 'content-length': String(declared) },
  });
}

/** Microseconds of CPU per body for each case, the declared and undeclared reads alternating. */
async function cpuPerBody(
  read: Reader,
  bodyBytes: number,
  bodies: number,
): Promise<{ declared: number; undeclared: number }> {
  const body = vectorAnswer(bodyBytes);
  const chunks: Buffer[] = [];
  for (let at = 0; at < body.length; at += CHUNK_BYTES) chunks.push(body.subarray(at, at + CHUNK_BYTES));
  const budget = new ResponseBudget({ maxBytes: 64 * 1024 * 1024, waitMs: 1000 });
  const spent = { declared: 0, undeclared: 0 };
  const warmup = Math.ceil(bodies / 10);
  for (let i = -warmup; i < bodies; i++) {
    for (const kind of ['declared', 'undeclared'] as const) {
      const stream = bodyStream(chunks, kind === 'declared' ? body.length : undefined);
      const started = process.cpuUsage();
      const parsed = await read(stream, 32 * 1024 * 1024, budget);
      const used = process.cpuUsage(started);
      if (parsed.value === undefined) throw new Error('the bench body did not parse');
      if (i >= 0) spent[kind] += used.user + used.system;
    }
  }
  return { declared: round(spent.declared / bodies, 1), undeclared: round(spent.undeclared / bodies, 1) };
}

async function readerOf(boundedBodyModule: string): Promise<Reader> {
  return ((await import(pathToFileURL(boundedBodyModule).href)) as { readBoundedJson: Reader }).readBoundedJson;
}

export async function runBodyReadsBench(options: { compareMainJs?: string; quick?: boolean } = {}): Promise<object> {
  const builds: [string, Reader][] = [
    ['this build', await readerOf(join(import.meta.dirname, '../src/io/bounded-body.ts'))],
  ];
  if (options.compareMainJs) {
    builds.push([options.compareMainJs, await readerOf(join(dirname(options.compareMainJs), 'io/bounded-body.js'))]);
  }
  const cases = [];
  for (const { bodyBytes, bodies } of CASES) {
    const count = options.quick ? Math.ceil(bodies / 20) : bodies;
    const byBuild: Record<string, object> = {};
    for (const [name, read] of builds) {
      const us = await cpuPerBody(read, bodyBytes, count);
      byBuild[name] = { ...us, undeclaredOverDeclared: ratio(us.undeclared, us.declared) };
    }
    cases.push({ bodyBytes, bodies: count, cpuMicrosecondsPerBody: byBuild });
  }
  return { case: 'readBoundedJson, Content-Length declared vs chunked, 16 KiB chunks', cases };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({ options: { 'compare-build': { type: 'string' }, quick: { type: 'boolean' } } });
  const compareMainJs = values['compare-build'];
  console.log(
    JSON.stringify(
      await runBodyReadsBench({ ...(compareMainJs ? { compareMainJs } : {}), quick: values.quick ?? false }),
      null,
      2,
    ),
  );
}
