import { Transform, type TransformCallback } from 'node:stream';

/**
 * Every HTTP body the adapter reads from a backend or the kube API goes through here, bounded
 * while it arrives: one misbehaving server answering 600 MB must cost at most the limit, never
 * the process (a string past V8's maximum length throws, a few hundred MB is a fatal OOM under
 * the Deployment's heap).
 */

/** Default bound of one backend answer: far above any real query or series answer. */
export const DEFAULT_MAX_RESPONSE_BYTES = 32 * 1024 * 1024;

/** A body larger than the limit; the reading was stopped at the limit. */
export class BodyTooLargeError extends Error {
  constructor(readonly limitBytes: number) {
    super(`answer larger than the limit of ${formatBytes(limitBytes)}`);
    this.name = 'BodyTooLargeError';
  }
}

interface BodyStream extends NodeJS.ReadableStream {
  headers?: Record<string, string | string[] | undefined>;
  destroy(error?: Error): void;
}

/**
 * Reads `stream` to its end into one Buffer, refusing more than `maxBytes`: a Content-Length
 * above the limit is refused before reading, and the stream is destroyed as soon as the bytes
 * received pass it (which aborts the request that produced it).
 */
export function readBoundedBody(stream: BodyStream, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(stream.headers?.['content-length']);
    if (Number.isFinite(declared) && declared > maxBytes) {
      const error = new BodyTooLargeError(maxBytes);
      stream.destroy(error);
      reject(error);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        chunks.length = 0;
        stream.removeListener('data', onData);
        const error = new BodyTooLargeError(maxBytes);
        stream.destroy(error);
        reject(error);
        return;
      }
      chunks.push(chunk);
    };
    stream.on('data', onData);
    stream.on('error', reject);
    stream.on('end', () => resolve(Buffer.concat(chunks, size)));
  });
}

/**
 * A pass-through that fails with BodyTooLargeError once more than `maxBytes` went through it,
 * for bodies read by someone else (the AWS SDK's deserialisers).
 */
export function limitStream(maxBytes: number): Transform {
  let size = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback) {
      size += chunk.length;
      if (size > maxBytes) done(new BodyTooLargeError(maxBytes));
      else done(null, chunk);
    },
  });
}

export function formatBytes(bytes: number): string {
  const units: [number, string][] = [
    [1024 * 1024 * 1024, 'GiB'],
    [1024 * 1024, 'MiB'],
    [1024, 'KiB'],
  ];
  for (const [size, unit] of units) if (bytes >= size && bytes % size === 0) return `${bytes / size} ${unit}`;
  return `${bytes} bytes`;
}
