import { performance } from 'node:perf_hooks';
import { ApiError } from '../api/errors.js';
import type { QueryCache } from '../cache/query-cache.js';
import type { Deadline } from '../lib/deadline.js';
import { clip } from '../lib/text.js';
import { UpstreamCallFailure, type UpstreamClient } from './client.js';
import type { UpstreamConfig } from './config.js';
import type { ForwardingUpstream, UpstreamAnswer } from './forwarding.js';
import type { UpstreamMetrics } from './metrics.js';
import type { UpstreamDiscovery } from './upstream-discovery.js';

/** One configured upstream: its client, its discovery, and the forwarding of metric requests. */
export class Upstream implements ForwardingUpstream {
  constructor(
    readonly config: UpstreamConfig,
    readonly client: UpstreamClient,
    readonly discovery: UpstreamDiscovery,
    private readonly metrics: UpstreamMetrics,
    /** Present when `cache: true`: answers are kept as our own backends' values are. */
    private readonly cache?: QueryCache,
  ) {}

  get name(): string {
    return this.config.name;
  }

  serves(groupVersion: string): boolean {
    return (this.config.groupVersions as readonly string[]).includes(groupVersion);
  }

  /** Why it takes this metric, for explain; undefined when it does not. `unserved` is decided by the caller. */
  claim(group: string, version: string, discoveryName: string, metric: string): 'announced' | 'pattern' | undefined {
    if (this.config.metrics.announced && this.discovery.announces(group, version, discoveryName)) return 'announced';
    if (this.config.metrics.matching.some((pattern) => pattern.testExact(metric))) return 'pattern';
    return undefined;
  }

  forward(pathAndQuery: string, metric: string, deadline: Deadline): Promise<UpstreamAnswer> {
    if (!this.cache) return this.call(pathAndQuery, metric, deadline.signal);
    // Only 2xx answers are kept; a Status goes out uncached (thrown past the cache, which may
    // serve a stale value instead while the upstream fails).
    return this.cache
      .fetch(pathAndQuery, (signal) => this.call(pathAndQuery, metric, signal).then(cachedFrom), { deadline })
      .catch((error: unknown) => {
        if (error instanceof NotCached) return error.answer;
        throw error;
      });
  }

  close(): Promise<void> {
    this.client.close();
    return this.discovery.close();
  }

  private async call(pathAndQuery: string, metric: string, signal: AbortSignal): Promise<UpstreamAnswer> {
    const upstream = this.config.name;
    const started = performance.now();
    try {
      const answer = await this.client.get(pathAndQuery, signal);
      try {
        checkAnswer(answer);
      } catch (error) {
        answer.release();
        throw error;
      }
      this.metrics.requests.inc({ upstream, code: String(answer.status) });
      this.metrics.duration.observe({ upstream }, (performance.now() - started) / 1000);
      return answer;
    } catch (error) {
      this.metrics.requests.inc({ upstream, code: 'none' });
      if (!(error instanceof UpstreamCallFailure)) throw error;
      this.metrics.failures.inc({ upstream, kind: error.kind });
      throw ApiError.unavailable(
        `metric "${metric}" is served by upstream "${upstream}" (${this.client.url}), which ${error.message}`,
        error,
      );
    }
  }
}

/** A non-2xx answer travelling past the cache so that it is not kept. */
class NotCached extends Error {
  constructor(readonly answer: UpstreamAnswer) {
    super(`upstream answered ${answer.status}`);
  }
}

/**
 * A 2xx answer as the cache keeps it, else thrown past it. The cache's budget counts a kept answer,
 * so the response budget has its bytes back at once; a Status, small, is written uncounted.
 */
function cachedFrom(answer: UpstreamAnswer): UpstreamAnswer {
  answer.release();
  if (answer.status >= 200 && answer.status < 300) return answer;
  throw new NotCached(answer);
}

/**
 * A usable answer is a Kubernetes object in JSON (we ask for JSON): a value list on 2xx, a Status
 * otherwise. Anything else (an HTML error page of a proxy, a cut body) would reach the HPA as a
 * decoding error naming nobody, so it becomes our 503 naming the upstream.
 */
function checkAnswer(answer: UpstreamAnswer): void {
  const garbage = (why: string) =>
    new UpstreamCallFailure('garbage', `answered ${answer.status} with ${why}, not a Kubernetes object in JSON`);
  if (answer.status < 200 || answer.status >= 600 || (answer.status >= 300 && answer.status < 400)) {
    throw garbage('an unexpected status');
  }
  if (!answer.contentType.startsWith('application/json'))
    throw garbage(`Content-Type "${clip(answer.contentType, 80)}"`);
  let object: { kind?: unknown; apiVersion?: unknown } | null;
  try {
    object = JSON.parse(answer.body.toString('utf8')) as typeof object;
  } catch {
    throw garbage('a body that does not parse as JSON');
  }
  if (typeof object?.kind !== 'string' || typeof object.apiVersion !== 'string')
    throw garbage('a body without kind and apiVersion');
  if (answer.status >= 300 && object.kind !== 'Status')
    throw garbage(`a ${clip(object.kind, 60)} where a Status belongs`);
}
