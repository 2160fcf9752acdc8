import type { CredentialAuthenticator, CredentialOutcome, RequestCredentials } from './credentials.js';
import { type CaBundle, certificateNames, verifyClientChain } from './x509.js';

/**
 * A client certificate issued by the client CA (`--client-ca-file`, or the ConfigMap's
 * `client-ca-file`) authenticates as user = CN and groups = O, as kube-apiserver does.
 */
export function createClientCertificateAuthenticator(
  ca: () => CaBundle | undefined,
  now: () => Date = () => new Date(),
): CredentialAuthenticator {
  return {
    async authenticate(credentials: RequestCredentials): Promise<CredentialOutcome> {
      const bundle = ca();
      const leaf = credentials.chain[0];
      if (!bundle || !leaf) return { kind: 'absent' };
      const names = certificateNames(leaf);
      const problem = verifyClientChain(credentials.chain, bundle.certificates, now());
      if (problem) {
        return {
          kind: 'rejected',
          reason: `client certificate "${names.commonName}" is not accepted by the client CA: ${problem}`,
        };
      }
      if (names.commonName === '') {
        return {
          kind: 'rejected',
          reason: 'client certificate has no subject common name (CN) to use as the user name',
        };
      }
      return { kind: 'authenticated', user: { name: names.commonName, groups: names.organizations, extra: {} } };
    },
  };
}
