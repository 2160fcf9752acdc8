import { fileURLToPath } from 'node:url';
import { type ServerProcess, startServerProcess } from './processes.js';

const CHILD = fileURLToPath(new URL('./kube-double-child.ts', import.meta.url));

export interface KubeDoubleProcess {
  /** A kubeconfig for the adapters: the double's URL, CA and the adapter's token. */
  kubeconfigPath: string;
  server: ServerProcess;
}

/**
 * The kube-apiserver double holding `hpas` HPAs in a child process (kube-double-child.ts), so that
 * its answers (HPA lists and watches, SubjectAccessReviews, Leases) and the bench's polls do not
 * share one event loop and delay each other. It runs where this process may run (the load
 * generator's CPU when pinned), away from the adapters' CPU.
 */
export async function startKubeDoubleProcess(hpas: number): Promise<KubeDoubleProcess> {
  const server = await startServerProcess(process.execPath, ['--import', 'tsx', CHILD, String(hpas)], {
    timeoutMs: 60_000,
  });
  const kubeconfigPath = server.ready.kubeconfigPath;
  if (typeof kubeconfigPath !== 'string') {
    await server.stop();
    throw new Error(`the kube-apiserver double printed no kubeconfigPath: ${server.output.join('\n')}`);
  }
  return { kubeconfigPath, server };
}
