import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError } from '../../api/errors.js';
import type { DiscoveryCatalog, RenderedDocument, Snapshot } from '../discovery/catalog.js';
import { aggregatedContentType, DISCOVERY_ROOT, JSON_ONLY, negotiate } from '../request/negotiate.js';
import { sendRenderedJson } from '../respond/send-json.js';

/**
 * Discovery documents: `/apis`, `/apis/<group>` and `/apis/<group>/<version>`, given the path
 * segments after `/apis`. The aggregator checks `/apis/<group>/<version>` for every APIService
 * and marks it unavailable (stopping every HPA that uses it) when this is slow or failing, and
 * marks a group-version stale when `/apis` answers 503; so these read only documents already in
 * memory and never wait on a backend.
 */
export function answerDiscovery(
  catalog: DiscoveryCatalog,
  req: IncomingMessage,
  res: ServerResponse,
  segments: readonly string[],
): void {
  const [groupName, version] = segments;
  const accept = req.headers.accept;
  if (groupName === undefined) {
    res.setHeader('Vary', 'Accept');
    const representation = negotiate(accept, DISCOVERY_ROOT);
    const snapshot = catalog.current();
    if (representation === 'json') sendRenderedJson(res, snapshot.groupList());
    else sendWithETag(req, res, snapshot.aggregated(representation), aggregatedContentType(representation));
    return;
  }
  negotiate(accept, JSON_ONLY);
  const snapshot = catalog.current();
  const document = version === undefined ? snapshot.group(groupName) : snapshot.resourceList(groupName, version);
  if (!document) throw notServed(snapshot, version === undefined ? groupName : `${groupName}/${version}`);
  sendRenderedJson(res, document);
}

/** The aggregator sends back the ETag it got; an unchanged document then costs it no body. */
function sendWithETag(
  req: IncomingMessage,
  res: ServerResponse,
  document: RenderedDocument,
  contentType: string,
): void {
  res.setHeader('ETag', document.etag);
  if (etagMatches(req.headers['if-none-match'], document.etag)) {
    res.statusCode = 304;
    res.end();
    return;
  }
  sendRenderedJson(res, document, 200, contentType);
}

function etagMatches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false;
  return ifNoneMatch.split(',').some((tag) => {
    const t = tag.trim();
    return t === '*' || t === etag || t === `W/${etag}`;
  });
}

function notServed(snapshot: Snapshot, what: string): ApiError {
  return ApiError.notFound(
    `the server could not find the requested resource: ${what} is not served (this adapter serves ${snapshot.groups
      .map((g) => g.versions.map((v) => `${g.name}/${v}`).join(', '))
      .join(', ')})`,
  );
}
