import type { IncomingMessage } from 'node:http';
import type { ResourceAttributes } from '../../kube/types.js';

/** Who is calling, as kube-apiserver describes a user (user.Info). */
export interface UserInfo {
  name: string;
  uid?: string;
  groups: string[];
  extra: Record<string, string[]>;
}

export interface Authenticator {
  /** Resolves the caller, or throws ApiError.unauthorized saying why the credentials failed. */
  authenticate(request: IncomingMessage): Promise<UserInfo>;
}

export interface Authorizer {
  /** Resolves when allowed; throws ApiError.forbidden naming user, verb and resource otherwise. */
  authorize(user: UserInfo, attributes: ResourceAttributes): Promise<void>;
}

export interface AuthSetup {
  authenticator: Authenticator;
  authorizer: Authorizer;
  /** Paths served without authentication or authorization (health, version, openapi, metrics). */
  alwaysAllowPaths: readonly string[];
  /** PEM CA bundle(s) the TLS server should ask client certificates against. */
  clientCaPem: string[];
  close(): void;
}

/** The authentication and authorization flags (kube-apiserver's names); cli/flags.ts fills them. */
export interface AuthFlags {
  requestheaderClientCaFile?: string;
  requestheaderAllowedNames: string[];
  requestheaderUsernameHeaders: string[];
  requestheaderGroupHeaders: string[];
  requestheaderExtraHeadersPrefix: string[];
  clientCaFile?: string;
  kubeconfig?: string;
  authenticationKubeconfig?: string;
  authorizationKubeconfig?: string;
  authorizationAlwaysAllowPaths: string[];
}
