/**
 * `--authorization-always-allow-paths` matching as kube does it: an exact path, or a prefix
 * written with a trailing `*` (`/openapi/v3/*`).
 */
export function pathMatchesAny(path: string, patterns: readonly string[]): boolean {
  for (const pattern of patterns) {
    if (pattern.endsWith('*') ? path.startsWith(pattern.slice(0, -1)) : path === pattern) return true;
  }
  return false;
}
