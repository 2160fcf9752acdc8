import { readFileSync } from 'node:fs';

/** What /version answers: the package version and the commit the build came from. */
export interface VersionInfo {
  version: string;
  gitCommit: string;
}

/** The package version (from package.json, found relative to src/ or dist/) and build commit. */
export function readVersionInfo(): VersionInfo {
  let version = '0.0.0';
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string };
    version = pkg.version ?? version;
  } catch {
    // A relocated dist/ without package.json still serves; /version then says 0.0.0.
  }
  return { version, gitCommit: process.env.GIT_COMMIT ?? '' };
}
