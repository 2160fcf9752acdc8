import type { SignatureV4 } from '@smithy/signature-v4';
import { z } from 'zod';
import { ApiError } from '../../api/errors.js';
import { clip } from '../../lib/text.js';
import { ConfigError } from '../../schema/errors.js';
import { iamRoleArn } from '../../schema/fields.js';
import { abandonOnAbort } from '../aws/abort.js';
import { AWS_REGION_PATTERN, awsRegion } from '../aws/config.js';
import type { AwsCredentialSources } from '../aws/credential-sources.js';
import type { OutgoingRequest, RequestSigner } from './client.js';

/**
 * SigV4 request signing for Amazon Managed Service for Prometheus (AMP), so an EKS adapter needs
 * no signing proxy beside it. The signature is the AWS SDK's own (@smithy/signature-v4), with the
 * process's credentials (../aws/credential-sources.ts: the default chain of environment, shared
 * files, IRSA web identity, EKS Pod Identity, instance profile, each fetch bounded), cached and
 * renewed five minutes before they expire, shared with the SQS and CloudWatch clients. The AWS
 * modules are imported on the first signed call, so an adapter without `auth` never loads them.
 */

/** `auth:` of a Prometheus server: how its requests are signed. */
export const prometheusAuthSchema = z
  .object({
    sigv4: z
      .object({
        /** Default: the region of an AMP workspace URL (`aps-workspaces.<region>.amazonaws.com`), else AWS_REGION. */
        region: awsRegion.optional(),
        /** The signing name: `aps` for AMP. */
        service: z
          .string()
          .regex(/^[a-z0-9-]+$/, 'must be an AWS signing name such as aps')
          .default('aps'),
        /** A role to assume (STS AssumeRole with the chain's credentials), e.g. the workspace account's. */
        roleArn: iamRoleArn.optional(),
      })
      .strict(),
  })
  .strict();

export type PrometheusAuthConfig = z.infer<typeof prometheusAuthSchema>;

export interface SigV4Settings {
  region: string;
  service: string;
  roleArn?: string;
}

const AMP_HOST = /^aps-workspaces\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$/;

/**
 * The region and service to sign for. A missing region is a config error at load, not a 503 on
 * every call: the workspace URL's region comes first, since AWS_REGION may name another service's.
 * `field` names the config field in messages (`prometheus`, `prometheus.servers[0]`).
 */
export function resolveSigV4(
  auth: PrometheusAuthConfig,
  url: string,
  field: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): SigV4Settings {
  const host = new URL(url).hostname;
  const fromUrl = AMP_HOST.exec(host)?.[1];
  const fromEnv = env.AWS_REGION;
  const region = auth.sigv4.region ?? fromUrl ?? fromEnv;
  if (region === undefined) {
    throw new ConfigError(
      `field ${field}.auth.sigv4.region: no region to sign for: set it, or AWS_REGION (the URL's host ${clip(host, 80)} is no aps-workspaces.<region>.amazonaws.com to take it from)`,
    );
  }
  if (!AWS_REGION_PATTERN.test(region)) {
    throw new ConfigError(`field ${field}.auth.sigv4.region: AWS_REGION "${clip(region, 40)}" is no AWS region`);
  }
  return { region, service: auth.sigv4.service, ...(auth.sigv4.roleArn ? { roleArn: auth.sigv4.roleArn } : {}) };
}

/**
 * A signer for one server's requests, with the adapter's own credentials or, with a roleArn, the
 * role's (assumed once for the process, whoever else reads with it). `sources` replaces the
 * process's credential sources (tests).
 */
export function sigV4Signer(settings: SigV4Settings, sourcesOverride?: AwsCredentialSources): RequestSigner {
  const description = `SigV4 (region ${settings.region}, service ${settings.service}${settings.roleArn ? `, role ${settings.roleArn}` : ''})`;
  let loading: Promise<SignatureV4> | undefined;
  const load = async (): Promise<SignatureV4> => {
    // The process's sources are imported here too: they load the SDK's HTTP handler, which an
    // adapter without auth.sigv4 never needs (test/startup/lazy-imports.test.ts).
    const [{ SignatureV4: Signer }, { Sha256 }, sources] = await Promise.all([
      import('@smithy/signature-v4'),
      import('@smithy/core/checksum'),
      sourcesOverride ?? import('../aws/credential-sources.js').then((m) => m.processCredentialSources),
    ]);
    const credentials = settings.roleArn
      ? sources.role({
          accountId: settings.roleArn.split(':')[4] ?? '',
          roleArn: settings.roleArn,
          // STS's default, spelled out so a role also read by an AWS backend shares one provider.
          durationSeconds: 3600,
          region: settings.region,
        }).provider
      : sources.own();
    return new Signer({
      credentials,
      region: settings.region,
      service: settings.service,
      sha256: Sha256,
    });
  };
  return {
    description,
    async sign(request: OutgoingRequest, signal: AbortSignal): Promise<Record<string, string>> {
      loading ??= load();
      const signer = await loading;
      const { url } = request;
      // The client sends a signed query RFC 3986-encoded, so no '+' here stands for a space.
      const query: Record<string, string | string[]> = {};
      for (const [name, value] of url.searchParams) {
        const held = query[name];
        query[name] = held === undefined ? value : [...(Array.isArray(held) ? held : [held]), value];
      }
      const unsigned = {
        method: request.method,
        protocol: url.protocol,
        hostname: url.hostname,
        path: url.pathname,
        query,
        // The signature covers the Host header; URL.host leaves out a default port, as node does.
        headers: { ...request.headers, host: url.host },
        ...(request.body !== undefined ? { body: request.body } : {}),
        ...(url.port ? { port: Number(url.port) } : {}),
      };
      try {
        const signed = await abandonOnAbort(signer.sign(unsigned), signal, `${description} signing`);
        return signed.headers;
      } catch (error) {
        if (error instanceof ApiError) throw error;
        throw ApiError.unavailable(
          `prometheus request not sent: ${description} could not sign it, getting AWS credentials failed (${clip((error as Error).message, 300)})`,
          error,
        );
      }
    },
  };
}
