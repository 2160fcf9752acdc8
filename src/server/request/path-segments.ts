import { ApiError } from '../../api/errors.js';
import { clip, percentDecoded } from '../../lib/text.js';

/**
 * The segments of a request path, each percent-decoded: the one place the HTTP layer decodes a
 * path, before authentication, so authorization, routing and parsing all see the same names.
 * Split before decoding, so an encoded `%2F` stays inside its segment (and fails the name
 * checks there) instead of making a new one. A malformed escape (`%zz`, a cut-off `%E0%A4`) is a
 * 400 for the whole request, before anyone is authenticated: kube-apiserver's Go HTTP server
 * refuses such a URL while parsing the request line, before any handler runs.
 */
export function decodePathSegments(path: string): string[] {
  const segments = path.split('/').filter((segment) => segment.length > 0);
  return segments.map((segment) => {
    const decoded = percentDecoded(segment);
    if (decoded === undefined) {
      throw ApiError.badRequest(`malformed percent-encoding in path ${clip(path)}: "${clip(segment, 40)}"`);
    }
    return decoded;
  });
}
