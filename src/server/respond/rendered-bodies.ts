/** A serialised body and its length in bytes, as Content-Length wants it. */
export interface RenderedJson {
  json: string;
  bytes: number;
}

/**
 * Response bodies kept beside the provider answer they were rendered from. A cached backend
 * answer comes back as the same (immutable) array on every hit, so its JSON is rendered once
 * per cache refresh instead of once per request; a new answer is a new array and renders
 * anew. Held weakly: a body lives exactly as long as the cache keeps the answer.
 */
export class RenderedBodies<Source extends object> {
  private readonly bodies = new WeakMap<Source, RenderedJson & { variant: string }>();

  /**
   * The JSON of `render(source)`. `variant` is whatever else the body depends on (e.g. the
   * metric's name: two metrics whose queries coincide share one cached answer).
   */
  get(source: Source, variant: string, render: (source: Source, variant: string) => unknown): RenderedJson {
    const kept = this.bodies.get(source);
    if (kept?.variant === variant) return kept;
    const json = JSON.stringify(render(source, variant));
    const rendered = { json, bytes: Buffer.byteLength(json), variant };
    this.bodies.set(source, rendered);
    return rendered;
  }
}
