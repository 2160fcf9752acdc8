import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The built adapter (dist/main.js) run as a real process, the way a container runs it. */
export interface AdapterProcess {
  child: ChildProcess;
  port: number;
  baseUrl: string;
  /** Every JSON log line so far. */
  logs: Record<string, unknown>[];
  stderr: string[];
  /** Sends the signal and resolves with the exit code (or signal name). */
  stop(signal?: NodeJS.Signals): Promise<number | string>;
  exited: Promise<number | string>;
}

const START_TIMEOUT_MS = 60_000;

export const MAIN_JS = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

export interface StartOptions {
  args: string[];
  env?: Record<string, string | undefined>;
  /**
   * How long to wait for the "serving" log line; default 60 s. A quiet machine starts the adapter
   * in about a second, but at a load of 20 on two cores 15 s failed every end-to-end file.
   */
  timeoutMs?: number;
  /** Another build's main.js (a before/after measurement); default this tree's dist/main.js. */
  mainJs?: string;
}

export async function startAdapter(options: StartOptions): Promise<AdapterProcess> {
  const mainJs = options.mainJs ?? MAIN_JS;
  if (!existsSync(mainJs)) throw new Error(`${mainJs} is missing: run npm run build first (npm test does)`);
  const env: Record<string, string | undefined> = {
    ...process.env,
    KUBERNETES_SERVICE_HOST: undefined,
    KUBECONFIG: undefined,
    ...options.env,
  };
  const child = spawn(process.execPath, [mainJs, ...options.args], {
    env: Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined)) as NodeJS.ProcessEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  const stderr: string[] = [];
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? -1));
  });

  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      // Nobody gets a handle on a process that never served: stop it here, or it outlives the test.
      child.kill('SIGKILL');
      reject(
        new Error(
          `adapter did not start within ${options.timeoutMs ?? START_TIMEOUT_MS} ms; logs: ${JSON.stringify(logs)} ${stderr.join('')}`,
        ),
      );
    }, options.timeoutMs ?? START_TIMEOUT_MS);
    let buffer = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      buffer += chunk;
      let newline = buffer.indexOf('\n');
      while (newline !== -1) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        newline = buffer.indexOf('\n');
        try {
          const entry = JSON.parse(line) as Record<string, unknown>;
          logs.push(entry);
          if (typeof entry.port === 'number' && String(entry.msg).startsWith('serving')) {
            clearTimeout(timer);
            resolve(entry.port);
          }
        } catch {
          stderr.push(line);
        }
      }
    });
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => stderr.push(chunk));
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`adapter exited (${code}) before serving; logs: ${JSON.stringify(logs)} ${stderr.join('')}`));
    });
  });

  return {
    child,
    port,
    baseUrl: `https://127.0.0.1:${port}`,
    logs,
    stderr,
    exited,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
