import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { AwsCredentialSources } from '../../../src/providers/aws/credential-sources.js';
import {
  CREDENTIAL_READERS,
  type CredentialReaders,
  startCredentialReaders,
} from '../../support/aws-credential-readers.js';
import type { CredentialsEndpointMode } from '../../support/aws-credentials-endpoint.js';
import { rejection } from '../../support/failures.js';

/**
 * The adapter's own credentials from an EKS Pod Identity endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI)
 * that hangs, drips a byte at a time, or answers 2,000 × 1 MiB: every reader that signs with
 * them (SQS, CloudWatch, SigV4 for AMP, each with the real SDK) answers 503 naming the endpoint
 * within the fetch deadline, RSS stays within 100 MB of idle, and once the endpoint answers
 * again the next fetch succeeds although the stuck connection was never cut.
 */

/** The fetch deadline under test; the requests' own deadline is 8 times longer. */
const FETCH_DEADLINE_MS = 1000;
const REQUEST_DEADLINE_MS = 8000;
const EXPECTED = { sqs: 7, cloudwatch: 7, sigv4: 42 } as const;

let readers: CredentialReaders | undefined;
afterEach(async () => {
  await readers?.close();
  readers = undefined;
});

for (const reader of CREDENTIAL_READERS) {
  describe(`${reader} signing with credentials from a misbehaving Pod Identity endpoint`, () => {
    for (const mode of ['hang', 'drip', 'huge'] as const satisfies CredentialsEndpointMode[]) {
      test(`${mode}: 503 naming the endpoint, RSS bounded, and the next fetch after it answers again succeeds`, async () => {
        const sources = new AwsCredentialSources({ limits: { timeoutMs: FETCH_DEADLINE_MS } });
        readers = await startCredentialReaders(sources);
        const { endpoint } = readers;
        endpoint.mode = mode;
        const idle = process.memoryUsage.rss();
        let peak = idle;
        const sampler = setInterval(() => {
          peak = Math.max(peak, process.memoryUsage.rss());
        }, 10);
        try {
          const errors = await Promise.all(
            Array.from({ length: 50 }, () =>
              rejection(readers?.read(reader, AbortSignal.timeout(REQUEST_DEADLINE_MS)) ?? Promise.resolve()),
            ),
          );
          for (const error of errors) {
            assert.equal(error.code, 503, error.message);
            // Answered by the fetch deadline, not cancelled at the request's: the source is named.
            assert.match(
              error.message,
              new RegExp(
                `container credentials endpoint ${endpoint.url.replaceAll('.', '\\.')}.*AWS_CONTAINER_CREDENTIALS_FULL_URI`,
              ),
            );
          }
          // A second wave finds no stuck fetch to wait on: each starts (or shares) a fresh one.
          await rejection(readers.read(reader, AbortSignal.timeout(REQUEST_DEADLINE_MS)));
        } finally {
          clearInterval(sampler);
        }
        assert.ok(peak - idle < 100 * 1024 * 1024, `RSS grew ${Math.round((peak - idle) / 2 ** 20)} MB`);

        // The endpoint answers again while a fetch of the bad kind is stuck on a connection nobody cut.
        const stuck = readers.read(reader, AbortSignal.timeout(REQUEST_DEADLINE_MS)).catch(() => undefined);
        await sleep(20);
        endpoint.mode = 'ok';
        await stuck;
        assert.equal(await readers.read(reader, AbortSignal.timeout(REQUEST_DEADLINE_MS)), EXPECTED[reader]);
        assert.equal(endpoint.issued.length, 1, 'one good fetch serves the reads after it');
      });
    }
  });
}
