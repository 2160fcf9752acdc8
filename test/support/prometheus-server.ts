import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './free-port.js';

/**
 * A real Prometheus (the Debian package) serving series the test writes: the series become an
 * OpenMetrics file, `promtool tsdb create-blocks-from openmetrics` turns it into TSDB blocks,
 * and Prometheus opens them. Values are exact, and ready in well under a second.
 *
 * Instant queries look back only 5 minutes, so tests query at a fixed time (`QUERY_TIME` style:
 * inject a clock into the backend) that the generated data ends at.
 */
export interface SeriesSpec {
  /** The series name (`__name__`); series of one name are written together. */
  name: string;
  labels?: Readonly<Record<string, string>>;
  /** [unix seconds, value], ascending in time. */
  samples: readonly (readonly [number, number])[];
}

export interface PrometheusServer {
  url: string;
  port: number;
  dataDir: string;
  /** The running process's id; undefined while paused. */
  readonly pid: number | undefined;
  /** Stops the process (an outage), keeping its port and data directory for restart(). */
  pause(): Promise<void>;
  /** Starts Prometheus again (stopping it first if it runs) on the same port and data directory. */
  restart(): Promise<void>;
  /** Stops the process and removes its data. */
  stop(): Promise<void>;
}

export interface TimeRange {
  /** Unix seconds of the last sample. */
  end: number;
  /** How far back the samples go; default one hour. */
  seconds?: number;
  /** Seconds between samples; default 15 (a common scrape interval). */
  step?: number;
}

const execFileAsync = promisify(execFile);

/** A query time aligned to the minute and a little in the past, so every sample is below "now". */
export function alignedQueryTime(nowMs = Date.now()): number {
  return Math.floor(nowMs / 60_000) * 60 - 120;
}

function timestamps({ end, seconds = 3600, step = 15 }: TimeRange): number[] {
  const out: number[] = [];
  for (let t = end - seconds; t <= end; t += step) out.push(t);
  return out;
}

/** A gauge holding `value` over the range. */
export function gauge(name: string, labels: Record<string, string>, value: number, range: TimeRange): SeriesSpec {
  return { name, labels, samples: timestamps(range).map((t) => [t, value] as const) };
}

/** A counter growing by exactly `perSecond` every second, so `rate()` over any window gives `perSecond`. */
export function counter(name: string, labels: Record<string, string>, perSecond: number, range: TimeRange): SeriesSpec {
  const points = timestamps(range);
  const first = points[0] ?? range.end;
  return { name, labels, samples: points.map((t) => [t, 1000 + perSecond * (t - first)] as const) };
}

/**
 * What Prometheus 2.x's rate() gives for a `counter()` over a window with samples at both ends:
 * the increase times the factor 1/window, rounded as float64 arithmetic rounds it (rate(x[5m]) of
 * a 7/s counter is 7.000000000000001). Tests assert this exact value.
 */
export function expectedRate(perSecond: number, windowSeconds: number): number {
  return perSecond * windowSeconds * (1 / windowSeconds);
}

export function toOpenMetrics(series: readonly SeriesSpec[]): string {
  const byName = new Map<string, SeriesSpec[]>();
  for (const s of series) byName.set(s.name, [...(byName.get(s.name) ?? []), s]);
  const lines: string[] = [];
  for (const [name, family] of byName) {
    lines.push(`# TYPE ${name} unknown`);
    for (const s of family) {
      const labels = Object.entries(s.labels ?? {})
        .map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`)
        .join(',');
      for (const [t, v] of s.samples) lines.push(`${name}${labels ? `{${labels}}` : ''} ${formatValue(v)} ${t}`);
    }
  }
  lines.push('# EOF');
  return `${lines.join('\n')}\n`;
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  return String(v);
}

async function requireTool(tool: string): Promise<void> {
  try {
    await execFileAsync(tool, ['--version']);
  } catch {
    throw new Error(`${tool} is not installed: run scripts/ensure-test-tools.sh (Debian package "prometheus")`);
  }
}

export async function startPrometheus(options: { series: readonly SeriesSpec[] }): Promise<PrometheusServer> {
  await requireTool('promtool');
  await requireTool('prometheus');
  const dir = await mkdtemp(join(tmpdir(), 'prometheus-test-'));
  const dataDir = join(dir, 'data');
  const input = join(dir, 'series.om');
  const config = join(dir, 'prometheus.yml');
  await writeFile(input, toOpenMetrics(options.series));
  await writeFile(config, 'global:\n  scrape_interval: 1h\nscrape_configs: []\n');
  await execFileAsync('promtool', ['tsdb', 'create-blocks-from', 'openmetrics', input, dataDir]);

  const args = (port: number) => [
    `--config.file=${config}`,
    `--storage.tsdb.path=${dataDir}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--storage.tsdb.retention.time=30d',
    '--web.enable-admin-api',
    '--web.enable-lifecycle',
  ];
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    try {
      let child: ChildProcess | undefined = await launch(url, args(port));
      return {
        url,
        port,
        dataDir,
        get pid() {
          return child?.pid;
        },
        async pause() {
          if (child) await stop(child, undefined);
          child = undefined;
        },
        async restart() {
          if (child) await stop(child, undefined);
          child = undefined;
          child = await launch(url, args(port));
        },
        async stop() {
          if (child) await stop(child, undefined);
          child = undefined;
          await rm(dir, { recursive: true, force: true });
        },
      };
    } catch (error) {
      lastError = error;
    }
  }
  await rm(dir, { recursive: true, force: true });
  throw lastError;
}

/** Runs prometheus with `args` until it is ready at `url`; stops it again if it never gets there. */
async function launch(url: string, args: string[]): Promise<ChildProcess> {
  const child = spawn('prometheus', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const stderr: string[] = [];
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => stderr.push(chunk));
  try {
    await waitReady(url, child, stderr);
    return child;
  } catch (error) {
    await stop(child, undefined);
    throw error;
  }
}

async function waitReady(url: string, child: ChildProcess, stderr: string[]): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`prometheus exited (${child.exitCode}): ${stderr.join('').slice(-2000)}`);
    try {
      const response = await fetch(`${url}/-/ready`);
      if (response.status === 200) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`prometheus at ${url} was not ready within 15 s: ${stderr.join('').slice(-2000)}`);
}

async function stop(child: ChildProcess, dir: string | undefined): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
  if (dir) await rm(dir, { recursive: true, force: true });
}
