import { readFileSync } from 'node:fs';
import type { VersionInfo } from './server/routes/health.js';

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
