import { rm, writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { type AdapterProcess, startAdapter } from './adapter-process.js';
import { type CertDir, createCertDir, type IssuedCert, issueServingCert, type TestCa } from './certs.js';
import { type KubeApiserverDouble, startKubeApiserverDouble } from './kube-apiserver-double.js';
import { findKubectl, type KubectlResult, runKubectl, writeUserKubeconfig } from './kubectl.js';

/**
 * The adapter as a cluster runs it, for end-to-end tests: the built process with a CA-signed
 * serving certificate, front-proxy authentication (as kube-apiserver's aggregator calls it),
 * TokenReview/SubjectAccessReview against the kube-apiserver double, and the real kubectl.
 */
export const HPA_USER = 'system:serviceaccount:kube-system:horizontal-pod-autoscaler';

export interface Answer {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON bodies and assert their shape
  body: any;
}

export interface ClusterHarness {
  adapter: AdapterProcess;
  kube: KubeApiserverDouble;
  certs: CertDir;
  servingCa: TestCa;
  proxyClient: IssuedCert;
  /** A request as the aggregator sends it: front-proxy client certificate and X-Remote-* headers. */
  asAggregator(path: string, user?: string, groups?: string[]): Promise<Answer>;
  /** A request with any certificate and headers (or none). */
  call(path: string, options?: { cert?: IssuedCert; headers?: Record<string, string | string[]> }): Promise<Answer>;
  /**
   * The real kubectl with a bearer token the kube double's TokenReview knows; undefined when kubectl
   * is missing. `binary` picks another kubectl than the default one.
   */
  kubectl(args: string[], token: string, binary?: string): Promise<KubectlResult | undefined>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  config: string;
  env?: Record<string, string | undefined>;
  extraArgs?: string[];
  /** Prepares the kube double before the adapter starts (a CRD not installed, RBAC refusing a resource). */
  beforeStart?(kube: KubeApiserverDouble): void;
  /** Another build's main.js (a bench's before/after); default this tree's dist/main.js. */
  mainJs?: string;
}

/** The flags of an adapter served through the aggregator: its certificate, front-proxy authentication, a kubeconfig. */
export function aggregatedAdapterArgs(o: {
  configPath: string;
  serving: Pick<IssuedCert, 'certPath' | 'keyPath'>;
  frontProxyCa: TestCa;
  kubeconfigPath: string;
}): string[] {
  return [
    '--secure-port=0',
    `--config=${o.configPath}`,
    `--tls-cert-file=${o.serving.certPath}`,
    `--tls-private-key-file=${o.serving.keyPath}`,
    `--requestheader-client-ca-file=${o.frontProxyCa.certPath}`,
    '--requestheader-allowed-names=front-proxy-client',
    `--kubeconfig=${o.kubeconfigPath}`,
  ];
}

export async function startClusterHarness(options: HarnessOptions): Promise<ClusterHarness> {
  const certs = await createCertDir('e2e-cluster-');
  const frontProxyCa = await certs.createCa('front-proxy-ca');
  const proxyClient = await frontProxyCa.issue({ cn: 'front-proxy-client' });
  const servingCa = await certs.createCa('adapter-serving-ca');
  const serving = await issueServingCert(servingCa);
  const kube = await startKubeApiserverDouble();
  kube.allowRules.push(
    { user: HPA_USER, verb: 'get', group: 'custom.metrics.k8s.io' },
    { user: HPA_USER, verb: 'list', group: 'external.metrics.k8s.io' },
  );
  options.beforeStart?.(kube);
  const configPath = join(certs.dir, 'config.yaml');
  await writeFile(configPath, options.config);
  // An adapter that fails to start must not leave the double listening: the test file would
  // then never end (node:test waits for open handles until --test-timeout).
  const adapter = await startAdapter({
    args: [
      ...aggregatedAdapterArgs({ configPath, serving, frontProxyCa, kubeconfigPath: kube.kubeconfigPath }),
      ...(options.extraArgs ?? []),
    ],
    env: options.env,
    ...(options.mainJs ? { mainJs: options.mainJs } : {}),
  }).catch(async (error: unknown) => {
    await kube.close();
    await certs.cleanup();
    throw error;
  });
  const kubectlBinary = findKubectl();

  const call: ClusterHarness['call'] = (path, callOptions = {}) =>
    new Promise((resolve, reject) => {
      const req = httpsRequest(
        {
          host: '127.0.0.1',
          port: adapter.port,
          path,
          ca: servingCa.cert,
          agent: false,
          headers: callOptions.headers,
          ...(callOptions.cert ? { cert: callOptions.cert.chain, key: callOptions.cert.key } : {}),
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (c: string) => {
            text += c;
          });
          res.on('end', () => {
            let body: unknown = text;
            try {
              body = JSON.parse(text);
            } catch {
              // health endpoints answer plain text
            }
            resolve({ status: res.statusCode ?? 0, body });
          });
        },
      );
      req.on('error', reject);
      req.end();
    });

  return {
    adapter,
    kube,
    certs,
    servingCa,
    proxyClient,
    call,
    asAggregator: (path, user = HPA_USER, groups = ['system:serviceaccounts']) =>
      call(path, { cert: proxyClient, headers: { 'X-Remote-User': user, 'X-Remote-Group': groups } }),
    async kubectl(args, token, binary = kubectlBinary) {
      if (!binary) return undefined;
      const { path, dir } = await writeUserKubeconfig(adapter.baseUrl, servingCa.certPath, token);
      try {
        return await runKubectl(binary, path, args);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
    async close() {
      await adapter.stop();
      await kube.close();
      await certs.cleanup();
    },
  };
}
