import { type FSWatcher, watch } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from '../observability/logger.js';
import { loadServingCertificate, type ServingCertificate, type ServingCertificateOptions } from './tls.js';

/**
 * Reloads --tls-cert-file/--tls-private-key-file when they change (cert-manager renews them
 * in the mounted Secret by swapping a symlink), so renewals need no restart. A pair that fails
 * to load is logged and the current certificate stays in use.
 */
export function watchServingCertificate(
  options: ServingCertificateOptions,
  apply: (certificate: ServingCertificate) => void,
  logger: Logger,
  debounceMs = 500,
): { close(): void } {
  if (!options.tlsCertFile || !options.tlsPrivateKeyFile) return { close() {} };
  const directories = [...new Set([dirname(options.tlsCertFile), dirname(options.tlsPrivateKeyFile)])];
  let timer: NodeJS.Timeout | undefined;
  const reload = async () => {
    try {
      const certificate = await loadServingCertificate(options);
      apply(certificate);
      logger.info({ certificate: certificate.source }, 'serving certificate reloaded');
    } catch (error) {
      logger.error({ err: (error as Error).message }, 'serving certificate reload failed; keeping the current one');
    }
  };
  const watchers: FSWatcher[] = directories.map((dir) =>
    watch(dir, () => {
      clearTimeout(timer);
      timer = setTimeout(() => void reload(), debounceMs);
    }),
  );
  return {
    close() {
      clearTimeout(timer);
      for (const watcher of watchers) watcher.close();
    },
  };
}
