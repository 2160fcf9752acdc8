import { pipeline, type Readable, Transform, type TransformCallback } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { parseChunked } from '@discoveryjs/json-ext';
import { formatBytes } from '../lib/text.js';
import { LARGEST_DEFAULT_ANSWER_BYTES, processResponseBudget, type ResponseBudget } from './response-budget.js';

/**
 * Every HTTP body the adapter reads from a backend or the kube API goes through here, bounded
 * while it arrives: one misbehaving server answering 600 MB must cost at most the limit, never
 * the process (a string past V8's maximum length throws, a few hundred MB is a fatal OOM under
 * the Deployment's heap); and every answer read at once counts against one process-wide budget
 * (response-budget.ts), so that many answers under the limit cannot add up to an OOM either.
 */

/** Default bound of one backend answer: far above any real query or series answer. */
export const DEFAULT_MAX_RESPONSE_BYTES = LARGEST_DEFAULT_ANSWER_BYTES;

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
 * Reads `stream` to its end as UTF-8 text, refusing more than `maxBytes`: a Content-Length
 * above the limit is refused before reading, and the stream is destroyed as soon as the bytes
 * received pass it (which aborts the request that produced it). Each chunk is decoded as it
 * arrives and dropped, so the answer is held once as text rather than as chunks, their
 * concatenation and the text made from it.
 *
 * The bytes count against `budget` while they arrive: a declared Content-Length is taken before
 * reading, a chunked body chunk by chunk, the stream paused while it waits for room. Past the
 * budget's wait the read fails with ResponseBudgetError (an ApiError, 503). The bytes are given
 * back when the current turn of the event loop ends, not when the promise resolves: a caller
 * that decodes the text in the continuation of its await (JSON.parse and the objects made from
 * it) has that decoding counted too. Decoding after real I/O is not counted.
 */
export async function readBoundedText(
  stream: BodyStream,
  maxBytes: number,
  budget: ResponseBudget = processResponseBudget(),
): Promise<string> {
  const decoder = new StringDecoder('utf8');
  const pieces: string[] = [];
  const read = await readCounted(stream, maxBytes, budget, (chunk) => {
    pieces.push(decoder.write(chunk));
    return true;
  });
  pieces.push(decoder.end());
  setImmediate(read.release);
  return pieces.join('');
}

/** Bytes read by readBoundedBytes, counted in the response budget until `release` is called. */
export interface HeldBytes {
  bytes: Buffer;
  /** Gives the bytes back to the budget; later calls do nothing. */
  release(): void;
}

/**
 * Reads `stream` to its end as bytes, bounded and counted as readBoundedText's text is, for an
 * answer that is passed on as it came (an upstream's): no text is made of it. The bytes stay
 * counted until the caller releases them, once whatever holds them (a response being written)
 * is done; a declared Content-Length is read into one Buffer of that size, never held twice.
 */
export async function readBoundedBytes(
  stream: BodyStream,
  maxBytes: number,
  budget: ResponseBudget = processResponseBudget(),
): Promise<HeldBytes> {
  const declared = declaredLength(stream);
  const into = declared !== undefined && declared <= maxBytes ? Buffer.allocUnsafe(declared) : undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  const read = await readCounted(stream, maxBytes, budget, (chunk) => {
    if (into) chunk.copy(into, size);
    else chunks.push(chunk);
    size += chunk.length;
    return true;
  });
  if (into && size !== into.length) {
    read.release();
    throw new Error('the answer ended before its last byte');
  }
  return { bytes: into ?? Buffer.concat(chunks, size), release: read.release };
}

/** A reading that ended, or stopped: its bytes are held in the budget until `release` (idempotent). */
interface CountedRead {
  release(): void;
  /** False when onChunk stopped it: the stream is paused, its listeners gone, the rest unread. */
  complete: boolean;
}

function declaredLength(stream: BodyStream): number | undefined {
  const declared = Number(stream.headers?.['content-length']);
  return Number.isFinite(declared) && declared >= 0 ? declared : undefined;
}

/**
 * The reading every function here shares: `stream` to its end, each chunk handed to `onChunk`,
 * bounded by `maxBytes` and counted against `budget` (readBoundedText says how). On a failure the
 * bytes are given back and the stream destroyed. `onChunk` returning false stops the reading after
 * that chunk, which is counted; the caller reads the rest. A plain listener, not a pipeline: per
 * body, a pipeline and a Transform cost a few times the CPU of parsing a few KiB.
 */
function readCounted(
  stream: BodyStream,
  maxBytes: number,
  budget: ResponseBudget,
  onChunk: (chunk: Buffer) => boolean | undefined,
): Promise<CountedRead> {
  return new Promise((resolve, reject) => {
    const declared = declaredLength(stream);
    if (declared !== undefined && declared > maxBytes) {
      const error = new BodyTooLargeError(maxBytes);
      stream.destroy(error);
      reject(error);
      return;
    }
    let size = 0;
    let taken = 0;
    let settled = false;
    const release = () => {
      budget.give(taken);
      taken = 0;
    };
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      stream.removeListener('data', onData);
      release();
      stream.destroy(error);
      reject(error);
    };
    const grow = (bytes: number, then: () => void) => {
      if (budget.tryTake(bytes)) {
        taken += bytes;
        return then();
      }
      stream.pause();
      budget.take(bytes).then(() => {
        if (settled) return budget.give(bytes);
        taken += bytes;
        stream.resume();
        then();
      }, fail);
    };
    const stop = () => {
      if (settled) return;
      settled = true;
      stream.pause();
      stream.removeListener('data', onData).removeListener('error', fail).removeListener('close', onClose);
      stream.removeListener('end', onEnd);
      resolve({ release, complete: false });
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) return fail(new BodyTooLargeError(maxBytes));
      const more = onChunk(chunk) !== false;
      if (size > taken) grow(size - taken, more ? () => {} : stop);
      else if (!more) stop();
    };
    const onClose = () => {
      if (!settled) fail(new Error('the answer ended before its last byte'));
    };
    const onEnd = () => {
      if (settled) return;
      settled = true;
      resolve({ release, complete: true });
    };
    stream.on('error', fail);
    stream.on('close', onClose);
    stream.on('end', onEnd);
    const start = () => stream.on('data', onData);
    if (declared !== undefined && declared > 0) grow(declared, start);
    else start();
  });
}

/** A body read as JSON (readBoundedJson). */
export interface JsonBody {
  /** The parsed value; undefined when the body is not JSON. */
  value: unknown;
  /** The body's first bytes as text, for messages about it. */
  head: string;
}

const HEAD_BYTES = 1024;

/**
 * Bodies up to this size are read as text and parsed whole; larger ones are parsed as they arrive.
 * A streamed parse costs ~8x the CPU of JSON.parse for a typical few-hundred-byte Prometheus
 * answer (245 vs 31 µs), and nearly every answer is that small: parsed streamed, a cache miss
 * cost so much more that bench (b)'s 10,000 HPAs saturated the adapter and no entry survived.
 */
const WHOLE_PARSE_BYTES = 1024 * 1024;

/**
 * Reads `stream` as JSON, bounded and counted against `budget` as readBoundedText's text is. A
 * body past WHOLE_PARSE_BYTES (declared so, or found so as it arrives) is parsed chunk by chunk as
 * it arrives, never held whole as text:
 * read as text, a 30 MiB Prometheus answer was on the heap three times at once (the decoded
 * pieces, the text joined from them, and the objects parsed from it). A body that is not JSON
 * has no value.
 */
export async function readBoundedJson(
  stream: BodyStream & Readable,
  maxBytes: number,
  budget: ResponseBudget = processResponseBudget(),
): Promise<JsonBody> {
  const declared = declaredLength(stream);
  const held: Buffer[] = [];
  let heldBytes = 0;
  // Held as the bytes they came as until the body ends or passes WHOLE_PARSE_BYTES, then made text
  // once: a chunked body of a few KiB cost 2.3x the CPU of a declared one through a pipeline and
  // limitStream, and a declared one decoded chunk by chunk cost more than one decoding.
  const read =
    declared === undefined || declared <= WHOLE_PARSE_BYTES
      ? await readCounted(stream, maxBytes, budget, (chunk) => {
          held.push(chunk);
          heldBytes += chunk.length;
          return heldBytes <= WHOLE_PARSE_BYTES;
        })
      : undefined;
  if (read?.complete) {
    setImmediate(read.release);
    return parsedWhole(Buffer.concat(held, heldBytes).toString('utf8'));
  }
  if (declared !== undefined && declared > maxBytes) {
    const error = new BodyTooLargeError(maxBytes);
    stream.destroy(error);
    throw error;
  }
  try {
    return await parsedAsArriving(stream, held, heldBytes, maxBytes, budget);
  } finally {
    if (read) setImmediate(read.release);
  }
}

/**
 * The `held` chunks (`heldBytes` of the body) and the rest of `stream` parsed as they arrive, the
 * rest bounded and counted by limitStream.
 */
async function parsedAsArriving(
  stream: BodyStream & Readable,
  held: Buffer[],
  heldBytes: number,
  maxBytes: number,
  budget: ResponseBudget,
): Promise<JsonBody> {
  const limited = pipeline(stream, limitStream(maxBytes, budget, heldBytes), () => {});
  const start: Buffer[] = [];
  let startBytes = 0;
  const noted = (chunk: Buffer) => {
    if (startBytes < HEAD_BYTES) {
      start.push(chunk);
      startBytes += chunk.length;
    }
    return chunk;
  };
  async function* arriving(): AsyncGenerator<Buffer> {
    for (const chunk of held.splice(0)) yield noted(chunk);
    for await (const chunk of limited as AsyncIterable<Buffer>) yield noted(chunk);
  }
  const head = () => new StringDecoder('utf8').write(Buffer.concat(start).subarray(0, HEAD_BYTES));
  try {
    return { value: await parseChunked(arriving), head: head() };
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    return { value: undefined, head: head() };
  }
}

function parsedWhole(text: string): JsonBody {
  const head = text.length > HEAD_BYTES ? text.slice(0, HEAD_BYTES) : text;
  try {
    return { value: JSON.parse(text), head };
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    return { value: undefined, head };
  }
}

/**
 * A pass-through that fails with BodyTooLargeError once more than `maxBytes` went through it,
 * for bodies read by someone else (the AWS SDK's deserialisers); what went through counts
 * against `budget` as readBoundedText's bytes do, until the turn after the stream closed.
 */
export function limitStream(
  maxBytes: number,
  budget: ResponseBudget = processResponseBudget(),
  /** Bytes of the same body read before it, counted against `maxBytes` (not the budget: their reader counted them). */
  bytesBefore = 0,
): Transform {
  let size = bytesBefore;
  let taken = 0;
  const giveBack = () => {
    budget.give(taken);
    taken = 0;
  };
  const stream = new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback) {
      size += chunk.length;
      if (size > maxBytes) return done(new BodyTooLargeError(maxBytes));
      if (budget.tryTake(chunk.length)) {
        taken += chunk.length;
        return done(null, chunk);
      }
      budget.take(chunk.length).then(() => {
        if (stream.destroyed) return budget.give(chunk.length);
        taken += chunk.length;
        done(null, chunk);
      }, done);
    },
    // A failed read decodes nothing more: its bytes are room for the reads waiting, at once. Given
    // back a turn later, a refused read's bytes came too late for the reads whose wait ran out
    // beside it, and four large answers read at once were all refused.
    destroy(error, callback) {
      if (error) giveBack();
      callback(error);
    },
  });
  stream.once('close', () => setImmediate(giveBack));
  return stream;
}
