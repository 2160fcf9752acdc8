import { readFileSync } from 'node:fs';

/** What /version answers: the package version and the commit the build came from. */
export interface VersionInfo {
  version: string;
  gitCommit: string;
}

/**
 * The version the image was built as (ADAPTER_VERSION, from the Dockerfile's VERSION build-arg)
 * or else the package version (package.json, found relative to src/ or dist/), and the commit.
 */
export function readVersionInfo(env: NodeJS.ProcessEnv = process.env): VersionInfo {
  if (env.ADAPTER_VERSION) return { version: env.ADAPTER_VERSION, gitCommit: env.GIT_COMMIT ?? '' };
  let version = '0.0.0';
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string };
    version = pkg.version ?? version;
  } catch {
    // A relocated dist/ without package.json still serves; /version then says 0.0.0.
  }
  return { version, gitCommit: env.GIT_COMMIT ?? '' };
}
