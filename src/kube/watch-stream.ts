import type { IncomingMessage } from 'node:http';
import { z } from 'zod';
import { readBoundedText } from '../io/bounded-body.js';
import { clip } from '../lib/text.js';
import { objectMetadataSchema, summaryOf } from './metadata.js';
import { type KubeTransport, statusError } from './transport.js';
import { KubeRequestError, type ObjectSummary } from './types.js';

/**
 * One watch request, as the API concepts documentation describes it: `GET
 * collection?watch=1&resourceVersion=RV&allowWatchBookmarks=true`, answered 200 with a chunked
 * stream of JSON documents `{"type":…,"object":…}`. A failure arrives either as the status of
 * the request itself or, once the stream is open, as an `ERROR` event carrying a Status (410
 * Expired when RV has left the server's history). The object is read by a decoder: metadata
 * only (PartialObjectMetadata) for the metadata informers, whole objects for others.
 */
export type WatchChange<T> = { type: 'ADDED' | 'MODIFIED' | 'DELETED'; object: T; resourceVersion: string };
export type WatchEvent<T = ObjectSummary> = WatchChange<T> | { type: 'BOOKMARK'; resourceVersion: string };

/** Reads one event's object (throws when it is not one); resourceVersion is its metadata's. */
export type ObjectDecoder<T> = (object: Record<string, unknown>) => { object: T; resourceVersion: string };

export interface WatchRequest {
  resourceVersion: string;
  /** Asks the server to end the stream after this long (it then ends cleanly: re-watch). */
  timeoutSeconds: number;
  /** An open stream silent this long is taken as dead (bookmarks and events keep it alive). */
  idleTimeoutMs: number;
  signal: AbortSignal;
  /** Called once the server accepted the watch (200), before the first event. */
  onOpen?: () => void;
}

/** A Status carried by the stream or the response; `status` 410 means relist. */
export class WatchStatusError extends KubeRequestError {}

/** A Status is a few hundred bytes; more is not a Status. */
const MAX_STATUS_BYTES = 64 * 1024;
/** One event line larger than this is refused rather than buffered (a PartialObjectMetadata is ~1 KiB). */
const MAX_EVENT_BYTES = 4 * 1024 * 1024;

const eventSchema = z.object({
  type: z.enum(['ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK', 'ERROR']),
  object: z.record(z.string(), z.unknown()),
});
const bookmarkSchema = z.object({ metadata: z.object({ resourceVersion: z.string() }) });
const objectSchema = z.object({ metadata: objectMetadataSchema });
const statusSchema = z.object({
  code: z.number().nullish(),
  reason: z.string().nullish(),
  message: z.string().nullish(),
});

/** Metadata only: the object of each event is read as an ObjectSummary. */
export const decodeMetadata: ObjectDecoder<ObjectSummary> = (object) => {
  const { metadata } = objectSchema.parse(object);
  return { object: summaryOf(metadata), resourceVersion: metadata.resourceVersion ?? '' };
};

/** Streams events to `onEvent` until the server ends the watch (resolves) or it fails (rejects). */
export async function watchObjects<T>(
  transport: KubeTransport,
  collection: string,
  accept: string,
  decode: ObjectDecoder<T>,
  request: WatchRequest,
  onEvent: (event: WatchEvent<T>) => void,
): Promise<void> {
  const query = new URLSearchParams({
    watch: '1',
    resourceVersion: request.resourceVersion,
    allowWatchBookmarks: 'true',
    timeoutSeconds: String(request.timeoutSeconds),
  });
  const path = `${collection}?${query}`;
  const response = await transport.stream(path, accept, request.signal, request.idleTimeoutMs);
  if (response.statusCode !== 200) {
    const body = await readStatus(response);
    const error = statusError('GET', path, { status: response.statusCode ?? 0, body });
    const cause = error.cause as KubeRequestError;
    throw new WatchStatusError(error.message, cause.status, cause.reason);
  }
  request.onOpen?.();
  await readLines(response, (line) => onEvent(decodeEvent(path, line, decode)));
}

function decodeEvent<T>(path: string, line: string, decode: ObjectDecoder<T>): WatchEvent<T> {
  let event: z.infer<typeof eventSchema>;
  try {
    event = eventSchema.parse(JSON.parse(line));
  } catch {
    throw new Error(`kubernetes API sent a line that is not a watch event on ${path}: ${clip(line, 80)}`);
  }
  if (event.type === 'ERROR') {
    const status = statusSchema.parse(event.object);
    throw new WatchStatusError(
      `kubernetes API ended the watch ${path} with ${status.code ?? '?'} ${status.reason ?? ''}: ${status.message ?? '(no message)'}`,
      status.code ?? undefined,
      status.reason ?? undefined,
    );
  }
  if (event.type === 'BOOKMARK') {
    return { type: 'BOOKMARK', resourceVersion: bookmarkSchema.parse(event.object).metadata.resourceVersion };
  }
  return { type: event.type, ...decode(event.object) };
}

function readLines(response: IncomingMessage, onLine: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let pending = '';
    let settled = false;
    const fail = (error: unknown) => {
      if (settled) return;
      settled = true;
      reject(error);
      response.destroy();
    };
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => {
      pending += chunk;
      let newline = pending.indexOf('\n');
      try {
        while (newline !== -1 && !settled) {
          const line = pending.slice(0, newline).trim();
          pending = pending.slice(newline + 1);
          if (line !== '') onLine(line);
          newline = pending.indexOf('\n');
        }
        if (pending.length > MAX_EVENT_BYTES) throw new Error(`a watch event larger than ${MAX_EVENT_BYTES} bytes`);
      } catch (error) {
        fail(error);
      }
    });
    response.on('error', fail);
    response.on('aborted', () => fail(new Error('the watch connection was cut')));
    response.on('end', () => {
      try {
        if (pending.trim() !== '' && !settled) onLine(pending.trim());
        settled = true;
        resolve();
      } catch (error) {
        fail(error);
      }
    });
  });
}

/** The Status body of a refused watch, read through the one bounded body reader. */
async function readStatus(response: IncomingMessage): Promise<unknown> {
  try {
    return JSON.parse(await readBoundedText(response, MAX_STATUS_BYTES));
  } catch {
    return undefined;
  }
}
