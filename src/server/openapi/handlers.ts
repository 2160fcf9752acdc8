import { createHash } from 'node:crypto';
import { type Request, type Response, Router } from 'express';
import { ApiError, toStatus } from '../../api/errors.js';
import { SERVED_GROUPS, type ServedGroup } from '../../api/groups.js';
import { clip } from '../../lib/text.js';
import { readVersionInfo } from '../../version.js';
import { queryStringOf } from '../request/query-string.js';
import { buildOpenApiV2, buildOpenApiV3, openApiV3Paths } from './documents.js';

/**
 * Serves the OpenAPI documents the way kube-openapi's handlers do, because kube-apiserver's
 * aggregator and client-go talk to us exactly as they talk to kube-apiserver:
 * - the aggregator fetches `/openapi/v2` with `Accept: application/json` and sends back the
 *   ETag it got as `If-None-Match`; `/openapi/v3` is fetched with no Accept header at all;
 * - the `/openapi/v3` discovery lists each group-version with `?hash=<the document's hash>`,
 *   which clients cache forever, so a matching hash is answered as immutable.
 * The documents depend only on the groups served, so bodies and ETags are computed once per set
 * of groups (metrics.k8s.io comes and goes with resourceRules on a reload).
 */

const NO_CACHE = 'no-cache, private';
const IMMUTABLE = 'public, immutable, max-age=31536000';

interface StaticDocument {
  body: Buffer;
  /** Uppercase hex SHA-512 of the body: the `?hash=` value, and the ETag once quoted (as kube-openapi does). */
  hash: string;
  etag: string;
}

export interface OpenApiRouterOptions {
  /** Shown as info.version; defaults to the package version. */
  adapterVersion?: string;
  /**
   * The groups served now, the same array while they are the same; default the custom and external
   * metrics groups.
   */
  groups?: () => readonly ServedGroup[];
}

interface OpenApiDocuments {
  v2: StaticDocument;
  v3Discovery: StaticDocument;
  byGroupVersion: Map<string, StaticDocument>;
  /** The group-versions served, for the NotFound message. */
  served: string;
}

export function createOpenApiRouter(options: OpenApiRouterOptions = {}): Router {
  const adapterVersion = options.adapterVersion ?? readVersionInfo().version;
  const groupsNow = options.groups ?? (() => SERVED_GROUPS);
  // Two sets of groups at most (with and without metrics.k8s.io): each one's documents are kept.
  const kept = new Map<readonly ServedGroup[], OpenApiDocuments>();
  const documents = (): OpenApiDocuments => {
    const groups = groupsNow();
    let built = kept.get(groups);
    if (!built) {
      built = buildDocuments(adapterVersion, groups);
      kept.set(groups, built);
    }
    return built;
  };

  const router = Router();
  router.get('/openapi/v2', (req, res) => serveDocument(req, res, documents().v2, NO_CACHE));
  router.get('/openapi/v3', (req, res) => serveDocument(req, res, documents().v3Discovery, NO_CACHE));
  router.get('/openapi/v3/apis/:group/:version', (req, res) => {
    const groupVersion = `${req.params.group}/${req.params.version}`;
    const { byGroupVersion, served } = documents();
    const document = byGroupVersion.get(groupVersion);
    if (!document) {
      sendStatus(
        res,
        ApiError.notFound(
          `the server could not find the requested resource: no OpenAPI v3 document for ${clip(groupVersion)}; this adapter serves ${served}`,
        ),
      );
      return;
    }
    // A stale hash (the adapter was upgraded since the client read /openapi/v3) gets the
    // current document, revalidated on every use. kube-openapi redirects instead, which
    // can bounce between replicas of different versions during a rollout.
    const cacheControl = queryParameter(req, 'hash') === document.hash ? IMMUTABLE : NO_CACHE;
    serveDocument(req, res, document, cacheControl);
  });
  return router;
}

function buildDocuments(adapterVersion: string, groups: readonly ServedGroup[]): OpenApiDocuments {
  const v2 = staticDocument(buildOpenApiV2(adapterVersion, groups));
  const byGroupVersion = new Map<string, StaticDocument>();
  const discoveryPaths: Record<string, { serverRelativeURL: string }> = {};
  for (const { groupVersion, path } of openApiV3Paths(groups)) {
    const document = staticDocument(buildOpenApiV3(groupVersion, adapterVersion, groups));
    byGroupVersion.set(groupVersion, document);
    discoveryPaths[path] = { serverRelativeURL: `/openapi/v3/${path}?hash=${document.hash}` };
  }
  const v3Discovery = staticDocument({ paths: discoveryPaths });
  return { v2, v3Discovery, byGroupVersion, served: [...byGroupVersion.keys()].join(', ') };
}

function staticDocument(document: unknown): StaticDocument {
  const body = Buffer.from(JSON.stringify(document));
  const hash = createHash('sha512').update(body).digest('hex').toUpperCase();
  return { body, hash, etag: `"${hash}"` };
}

function serveDocument(req: Request, res: Response, document: StaticDocument, cacheControl: string): void {
  res.setHeader('Vary', 'Accept');
  if (req.accepts('application/json') === false) {
    sendStatus(
      res,
      new ApiError(
        'NotAcceptable',
        `the server cannot produce any media type the client accepts (Accept: ${clip(req.get('Accept') ?? '')}) for ${clip(req.path)}; OpenAPI is served as application/json only`,
      ),
    );
    return;
  }
  res.setHeader('ETag', document.etag);
  res.setHeader('Cache-Control', cacheControl);
  if (matchesAnyEtag(req.get('If-None-Match'), document.etag)) {
    res.status(304).end();
    return;
  }
  res.status(200);
  res.setHeader('Content-Type', 'application/json');
  res.setHeader('Content-Length', document.body.length);
  res.end(document.body);
}

function sendStatus(res: Response, error: ApiError): void {
  const body = Buffer.from(JSON.stringify(toStatus(error)));
  res.status(error.code);
  res.setHeader('Cache-Control', NO_CACHE);
  res.setHeader('Content-Type', 'application/json');
  res.setHeader('Content-Length', body.length);
  res.end(body);
}

/** RFC 9110 If-None-Match: `*` or a list of entity tags, compared weakly. */
function matchesAnyEtag(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header.split(',').some((candidate) => {
    const tag = candidate.trim();
    return tag === '*' || tag.replace(/^W\//, '') === etag;
  });
}

function queryParameter(req: Request, name: string): string | undefined {
  return new URLSearchParams(queryStringOf(req)).get(name) ?? undefined;
}
