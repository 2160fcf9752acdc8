import { readFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { HttpRequest } from '@smithy/core/protocols';
import type { AwsCredentialIdentity } from '@smithy/types';
import { readBoundedText } from '../../io/bounded-body.js';
import { clip } from '../../lib/text.js';
import type { BoundedNodeHttpHandler } from './http-handler.js';
import { CredentialFetchError } from './renewing-credentials.js';

/**
 * The credential endpoints of the SDK's default chain, fetched through the adapter's bounded
 * HTTP handler: the container endpoint (EKS Pod Identity, ECS) and the EC2 instance metadata
 * service. The SDK's own providers for them (fromHttp, fromContainerMetadata,
 * fromInstanceMetadata) take neither a request handler nor a deadline for the body, and read
 * the whole answer into memory. What is asked and what is accepted follows them.
 */
type Env = Readonly<Record<string, string | undefined>>;

/** A remote credential source of this process, by its environment; undefined when it has none. */
export interface RemoteCredentialSource {
  /** For messages: `the container credentials endpoint http://… (AWS_CONTAINER_CREDENTIALS_FULL_URI)`. */
  description: string;
  fetch(handler: BoundedNodeHttpHandler, signal: AbortSignal): Promise<AwsCredentialIdentity>;
}

const ECS_HOST = '169.254.170.2';
/** Hosts the SDK lets credentials come from over plain http, the token being sent there. */
const PLAIN_HTTP_HOSTS = new Set([ECS_HOST, '169.254.170.23', '[fd00:ec2::23]', 'localhost', '[::1]']);

export function remoteCredentialSource(env: Env): RemoteCredentialSource | undefined {
  const relative = env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI;
  const full = env.AWS_CONTAINER_CREDENTIALS_FULL_URI;
  if (relative || full) return containerSource(env, relative ? `http://${ECS_HOST}${relative}` : (full as string));
  const disabled = env.AWS_EC2_METADATA_DISABLED;
  if (disabled && disabled !== 'false') return undefined;
  return instanceMetadataSource(env.AWS_EC2_METADATA_SERVICE_ENDPOINT ?? 'http://169.254.169.254');
}

function containerSource(env: Env, address: string): RemoteCredentialSource {
  const variable = env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI
    ? 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI'
    : 'AWS_CONTAINER_CREDENTIALS_FULL_URI';
  const description = `the container credentials endpoint ${clip(address, 200)} (${variable}, EKS Pod Identity or ECS)`;
  return {
    description,
    async fetch(handler, signal) {
      const url = parseUrl(address, description);
      if (
        url.protocol !== 'https:' &&
        !PLAIN_HTTP_HOSTS.has(url.hostname) &&
        !/^127\.\d+\.\d+\.\d+$/.test(url.hostname)
      ) {
        throw new CredentialFetchError(description, 'plain http is accepted only to loopback or the ECS/EKS agent');
      }
      const headers: Record<string, string> = {};
      const tokenFile = env.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE;
      const token = tokenFile ? (await readFile(tokenFile, 'utf8')).trim() : env.AWS_CONTAINER_AUTHORIZATION_TOKEN;
      if (token) {
        if (/[\r\n]/.test(token))
          throw new CredentialFetchError(description, 'the authorization token has a line break');
        headers.authorization = token;
      }
      const answer = await exchange(handler, description, signal, url, 'GET', headers);
      if (answer.status !== 200) throw statusError(description, answer);
      return parseCredentials(description, answer.body);
    },
  };
}

const IMDS_TOKEN_PATH = '/latest/api/token';
const IMDS_ROLES_PATH = '/latest/meta-data/iam/security-credentials/';

function instanceMetadataSource(base: string): RemoteCredentialSource {
  const description = `the EC2 instance metadata service ${clip(base, 200)}`;
  return {
    description,
    async fetch(handler, signal) {
      const at = (path: string) => new URL(path, parseUrl(base, description));
      // IMDSv2 first; an instance that answers the token request 403/404/405 speaks IMDSv1 only.
      const tokenAnswer = await exchange(handler, description, signal, at(IMDS_TOKEN_PATH), 'PUT', {
        'x-aws-ec2-metadata-token-ttl-seconds': '21600',
      });
      const headers: Record<string, string> = {};
      if (tokenAnswer.status === 200) headers['x-aws-ec2-metadata-token'] = tokenAnswer.body.trim();
      else if (![403, 404, 405].includes(tokenAnswer.status)) throw statusError(description, tokenAnswer);
      const roles = await exchange(handler, description, signal, at(IMDS_ROLES_PATH), 'GET', headers);
      if (roles.status !== 200) throw statusError(description, roles);
      const role = roles.body.split('\n')[0]?.trim();
      if (!role) throw new CredentialFetchError(description, 'the instance has no IAM role');
      const answer = await exchange(
        handler,
        description,
        signal,
        at(IMDS_ROLES_PATH + encodeURIComponent(role)),
        'GET',
        headers,
      );
      if (answer.status !== 200) throw statusError(description, answer);
      return parseCredentials(description, answer.body);
    },
  };
}

interface Answer {
  status: number;
  body: string;
}

async function exchange(
  handler: BoundedNodeHttpHandler,
  description: string,
  signal: AbortSignal,
  url: URL,
  method: string,
  headers: Record<string, string>,
): Promise<Answer> {
  const request = new HttpRequest({
    method,
    protocol: url.protocol,
    hostname: url.hostname,
    ...(url.port ? { port: Number(url.port) } : {}),
    path: url.pathname,
    query: Object.fromEntries(url.searchParams),
    headers: { ...headers, host: url.host },
  });
  try {
    const { response } = await handler.handle(request, { abortSignal: signal });
    const body = await readBoundedText(response.body as Readable, handler.limits.maxResponseBytes);
    return { status: response.statusCode, body };
  } catch (error) {
    const e = error as Error & { code?: string };
    const problem =
      e.name === 'TimeoutError' || e.name === 'AbortError'
        ? `no answer within the deadline (${e.message})`
        : `${e.code ?? e.name}: ${e.message}`;
    throw new CredentialFetchError(description, clip(problem, 300), { cause: error });
  }
}

function statusError(description: string, answer: Answer): CredentialFetchError {
  return new CredentialFetchError(description, `HTTP ${answer.status}: ${clip(answer.body, 200)}`);
}

function parseUrl(address: string, description: string): URL {
  try {
    return new URL(address);
  } catch {
    throw new CredentialFetchError(description, 'not a URL');
  }
}

function parseCredentials(description: string, text: string): AwsCredentialIdentity {
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new CredentialFetchError(description, `the answer is not JSON: ${clip(text, 100)}`);
  }
  const { AccessKeyId, SecretAccessKey, Token, Expiration, AccountId } = parsed;
  if (typeof AccessKeyId !== 'string' || typeof SecretAccessKey !== 'string' || typeof Token !== 'string') {
    throw new CredentialFetchError(description, 'the answer has no AccessKeyId, SecretAccessKey and Token');
  }
  const expiration = typeof Expiration === 'string' ? new Date(Expiration) : undefined;
  if (expiration && Number.isNaN(expiration.getTime())) {
    throw new CredentialFetchError(description, `Expiration ${clip(String(Expiration), 40)} is not a time`);
  }
  return {
    accessKeyId: AccessKeyId,
    secretAccessKey: SecretAccessKey,
    sessionToken: Token,
    ...(expiration ? { expiration } : {}),
    ...(typeof AccountId === 'string' ? { accountId: AccountId } : {}),
  };
}
