import { LRUCache } from 'lru-cache';
import { AGGREGATED_DISCOVERY_VERSIONS, type AggregatedDiscoveryVersion } from '../../api/aggregated-discovery.js';
import { ApiError } from '../../api/errors.js';
import { clip } from '../../lib/text.js';

/**
 * Content negotiation as Kubernetes clients do it. We serve JSON only, plus on `/apis` the
 * aggregated discovery document. What callers send:
 * - kube-controller-manager, the HPA's metrics clients included: `application/vnd.kubernetes.protobuf, *\/*`.
 *   They pick the decoder from the response's Content-Type, so JSON labelled `application/json` is right.
 * - kubectl and the aggregator on `/apis`: the aggregated types first
 *   (`application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList`, protobuf variants,
 *   v2beta1), plain JSON last.
 * The first acceptable entry of the highest quality wins, as kube-apiserver chooses.
 */
export type Representation = 'json' | AggregatedDiscoveryVersion;

export const JSON_ONLY: readonly Representation[] = ['json'];
export const DISCOVERY_ROOT: readonly Representation[] = [...AGGREGATED_DISCOVERY_VERSIONS, 'json'];

const DISCOVERY_GROUP = 'apidiscovery.k8s.io';
const DISCOVERY_LIST = 'APIGroupDiscoveryList';

/** The Content-Type of each aggregated document, written as kube-apiserver writes it (clients compare parameters). */
export function aggregatedContentType(version: AggregatedDiscoveryVersion): string {
  return `application/json;g=${DISCOVERY_GROUP};v=${version};as=${DISCOVERY_LIST}`;
}

// Clients send a handful of distinct Accept headers, each again on every request.
const decisions = new LRUCache<string, Representation | 'none'>({ max: 512 });

/** The representation to answer with; throws NotAcceptable (406) when `offers` holds none the client takes. */
export function negotiate(accept: string | undefined, offers: readonly Representation[]): Representation {
  if (accept === undefined || accept === '') return offers[offers.length - 1] as Representation;
  const key = `${offers.join()}\u0000${accept}`;
  let decision = decisions.get(key);
  if (decision === undefined) {
    decision = choose(accept, offers) ?? 'none';
    decisions.set(key, decision);
  }
  if (decision !== 'none') return decision;
  throw new ApiError(
    'NotAcceptable',
    `the server cannot produce any media type the client accepts (Accept: ${clip(accept, 200)}): this adapter serves application/json${
      offers.length > 1
        ? ` and, on /apis, ${AGGREGATED_DISCOVERY_VERSIONS.map(aggregatedContentType).join(' and ')}`
        : ''
    }`,
  );
}

interface MediaRange {
  type: string;
  params: Map<string, string>;
  quality: number;
}

function choose(accept: string, offers: readonly Representation[]): Representation | undefined {
  let best: Representation | undefined;
  let bestQuality = 0;
  for (const range of parseAccept(accept)) {
    if (range.quality <= bestQuality) continue;
    const match = offers.find((offer) => matches(range, offer));
    if (match) {
      best = match;
      bestQuality = range.quality;
    }
  }
  return best;
}

function matches(range: MediaRange, offer: Representation): boolean {
  const asKind = range.params.get('as');
  if (offer === 'json') {
    if (asKind !== undefined) return false;
    return range.type === 'application/json' || range.type === 'application/*' || range.type === '*/*';
  }
  return (
    range.type === 'application/json' &&
    asKind === DISCOVERY_LIST &&
    range.params.get('g') === DISCOVERY_GROUP &&
    range.params.get('v') === offer
  );
}

function parseAccept(accept: string): MediaRange[] {
  return accept.split(',').map((entry) => {
    const [type = '', ...rawParams] = entry.split(';');
    const params = new Map<string, string>();
    for (const raw of rawParams) {
      const eq = raw.indexOf('=');
      if (eq === -1) continue;
      params.set(
        raw.slice(0, eq).trim().toLowerCase(),
        raw
          .slice(eq + 1)
          .trim()
          .replace(/^"(.*)"$/, '$1'),
      );
    }
    const q = params.has('q') ? Number(params.get('q')) : 1;
    return { type: type.trim().toLowerCase(), params, quality: Number.isFinite(q) ? Math.min(Math.max(q, 0), 1) : 0 };
  });
}
