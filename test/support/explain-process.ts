import { execFile } from 'node:child_process';
import { MAIN_JS } from './adapter-process.js';

/** `node dist/main.js explain ARGV` as a user runs it: exit status and stdout (stderr appended). */
export function explainProcess(
  argv: readonly string[],
  env: Record<string, string | undefined> = {},
): Promise<{ code: number; text: string }> {
  const merged = { ...process.env, KUBERNETES_SERVICE_HOST: undefined, KUBECONFIG: undefined, ...env };
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [MAIN_JS, 'explain', ...argv],
      {
        env: Object.fromEntries(Object.entries(merged).filter(([, v]) => v !== undefined)) as NodeJS.ProcessEnv,
        timeout: 60_000,
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ code, text: `${stdout}${stderr}` });
      },
    );
  });
}
