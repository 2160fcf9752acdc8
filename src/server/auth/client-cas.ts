import { readFile } from 'node:fs/promises';
import type { KubeClient } from '../../kube/types.js';
import { BackgroundRefresh } from '../../lib/background-refresh.js';
import type { Logger } from '../../observability/logger.js';
import {
  AUTHENTICATION_CONFIGMAP,
  type ClusterAuthentication,
  type RequestHeaderNames,
  readClusterAuthentication,
} from './extension-apiserver-authentication.js';
import type { RequestHeaderConfig } from './request-header.js';
import type { AuthFlags } from './types.js';
import { type CaBundle, parseCaBundle } from './x509.js';

/** The CAs the flags name, read once at start. */
export interface FlagCas {
  requestHeader?: RequestHeaderConfig;
  clientCa?: CaBundle;
}

/** Reads the CA files the flags name; throws naming the flag when one is unusable. */
export async function readFlagCas(flags: AuthFlags): Promise<FlagCas> {
  const cas: FlagCas = {};
  if (flags.requestheaderClientCaFile) {
    cas.requestHeader = {
      ...headerNames(flags),
      ca: await readCaFile(flags.requestheaderClientCaFile, '--requestheader-client-ca-file'),
      allowedNames: flags.requestheaderAllowedNames,
    };
  }
  if (flags.clientCaFile) cas.clientCa = await readCaFile(flags.clientCaFile, '--client-ca-file');
  return cas;
}

/** The CAs client certificates are checked against, as they stand now. */
export interface ClientCas {
  requestHeader(): RequestHeaderConfig | undefined;
  clientCa(): CaBundle | undefined;
  /** Both bundles' certificates, each once: what the TLS server advertises. */
  clientCaPem(): string[];
  close(): void;
}

export interface ClientCasOptions {
  logger: Logger;
  /** How often the ConfigMap is re-read when it supplies a CA; 0 never. */
  refreshIntervalMs: number;
  /** Called with the new bundle when a refresh changed the CAs. */
  onClientCaChange?: (clientCaPem: string[]) => void;
}

/**
 * The flags' CAs, and for what they leave out the kube-system/extension-apiserver-authentication
 * ConfigMap: read once (a failure rejects, so the process refuses to start), then re-read in the
 * background (lib/background-refresh.ts), keeping the CAs read before when it cannot be read.
 */
export async function clientCas(
  flags: AuthFlags,
  fromFlags: FlagCas,
  kube: KubeClient,
  options: ClientCasOptions,
): Promise<ClientCas> {
  const { logger } = options;
  const usesConfigMap = !fromFlags.requestHeader || !fromFlags.clientCa;
  let cluster = usesConfigMap ? await readClusterAuthentication(kube, headerNames(flags)) : undefined;
  const requestHeader = (): RequestHeaderConfig | undefined => fromFlags.requestHeader ?? cluster?.requestHeader;
  const clientCa = (): CaBundle | undefined => fromFlags.clientCa ?? cluster?.clientCa;
  const clientCaPem = (): string[] => [...new Set([...(requestHeader()?.ca.pem ?? []), ...(clientCa()?.pem ?? [])])];
  logSources(logger, { fromFlags, cluster, usesConfigMap });

  const reread = async (): Promise<void> => {
    const next = await readClusterAuthentication(kube, headerNames(flags));
    if (!next) {
      logger.warn(AUTHENTICATION_CONFIGMAP, 'authentication configmap disappeared; keeping the CAs read before');
      return;
    }
    const before = clientCaPem().join('');
    cluster = next;
    const after = clientCaPem();
    if (after.join('') !== before) {
      logger.info({ certificates: after.length }, 'client CA bundle changed in the authentication configmap');
      options.onClientCaChange?.(after);
    }
  };
  const refresh =
    usesConfigMap && options.refreshIntervalMs > 0
      ? new BackgroundRefresh({
          run: reread,
          intervalMs: options.refreshIntervalMs,
          onFailure: (error) =>
            logger.warn(
              { err: error instanceof Error ? error.message : String(error) },
              'cannot refresh the authentication configmap; keeping the CAs read before',
            ),
        })
      : undefined;
  refresh?.keepRefreshing();
  return { requestHeader, clientCa, clientCaPem, close: () => void refresh?.close() };
}

async function readCaFile(path: string, flag: string): Promise<CaBundle> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new Error(
      `${flag} ${path}: cannot read the CA file: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  return parseCaBundle(text, `${flag} ${path}`);
}

function headerNames(flags: AuthFlags): RequestHeaderNames {
  return {
    usernameHeaders: flags.requestheaderUsernameHeaders,
    uidHeaders: [],
    groupHeaders: flags.requestheaderGroupHeaders,
    extraHeaderPrefixes: flags.requestheaderExtraHeadersPrefix,
  };
}

function logSources(
  logger: Logger,
  state: { fromFlags: FlagCas; cluster: ClusterAuthentication | undefined; usesConfigMap: boolean },
): void {
  const configMap = `configmap ${AUTHENTICATION_CONFIGMAP.namespace}/${AUTHENTICATION_CONFIGMAP.name}`;
  const requestHeader = state.fromFlags.requestHeader ?? state.cluster?.requestHeader;
  const sourceOf = (fromFlag: unknown, fromCluster: unknown, flag: string) =>
    fromFlag ? flag : fromCluster ? configMap : 'none';
  logger.info(
    {
      requestHeaderCa: sourceOf(
        state.fromFlags.requestHeader,
        state.cluster?.requestHeader,
        '--requestheader-client-ca-file',
      ),
      requestHeaderAllowedNames: requestHeader?.allowedNames,
      clientCa: sourceOf(state.fromFlags.clientCa, state.cluster?.clientCa, '--client-ca-file'),
    },
    'client certificate authentication sources',
  );
  if (state.usesConfigMap && !state.cluster) {
    logger.warn(`${configMap} not found: only the CA files given by flag and bearer tokens can authenticate`);
  }
  if (!requestHeader) {
    logger.warn(
      'no request-header (front-proxy) CA: requests proxied by the kube-apiserver aggregator will be rejected with 401',
    );
  }
}
