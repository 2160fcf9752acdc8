import { KeptBesideEntries } from '../../cache/entry-identity.js';

/** A serialised body and its length in bytes, as Content-Length wants it. */
export interface RenderedJson {
  json: string;
  bytes: number;
}

/**
 * Response bodies kept beside the provider answer they were rendered from. An answer the cache
 * stored and hands out again unchanged carries the cache's entry identity (`isCachedEntry`): its
 * JSON is rendered once per cache refresh instead of once per request, and a refresh is a new
 * object that renders anew. Answers built per request, and bodies over MAX_KEPT_BODY_BYTES, are
 * rendered without being kept.
 * Kept on the answer itself (KeptBesideEntries): a body lives exactly as long as the cache keeps the answer.
 */
export class RenderedBodies<Source extends object> {
  private readonly bodies = new KeptBesideEntries<KeptBody>();

  /**
   * The JSON of `render(source)`. `variant` is whatever else the body depends on (e.g. the
   * metric's name: two metrics whose queries coincide share one cached answer).
   */
  get(source: Source, variant: string, render: (source: Source, variant: string) => unknown): RenderedJson {
    // Only a cached entry has a body kept beside it, and keep() keeps nothing beside anything else.
    const kept = this.bodies.get(source);
    if (kept?.variant === variant) return kept;
    const json = JSON.stringify(render(source, variant));
    const rendered: KeptBody = { json, bytes: Buffer.byteLength(json), variant };
    if (rendered.bytes <= MAX_KEPT_BODY_BYTES) this.bodies.keep(source, rendered);
    return rendered;
  }
}

type KeptBody = RenderedJson & { variant: string };

/**
 * Larger bodies are rendered per request: a kept body is memory the cache's byte budget does not
 * count, as large as the answer itself (a 30 MiB Prometheus answer kept 31 MiB of JSON beside it).
 */
const MAX_KEPT_BODY_BYTES = 1024 * 1024;
