/**
 * Node prints process warnings as multi-line text on stderr, which log pipelines split into junk
 * lines, and the AWS SDK's "NodeVersionSupportWarning" comes once from each copy of its core
 * module that a process loads (nine lines each): every warning goes to `say` instead, on one
 * line, and the same warning only once per process.
 */
export function routeProcessWarnings(say: (warning: { name: string; code?: string; message: string }) => void): void {
  const seen = new Set<string>();
  process.removeAllListeners('warning');
  process.on('warning', (warning: Error & { code?: string }) => {
    const message = warning.message.replace(/\s+/g, ' ').trim();
    const key = `${warning.name}\0${warning.code ?? ''}\0${message}`;
    if (seen.has(key)) return;
    seen.add(key);
    say({ name: warning.name, ...(warning.code === undefined ? {} : { code: warning.code }), message });
  });
}
