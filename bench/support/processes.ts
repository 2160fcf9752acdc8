import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/**
 * Server processes for the benchmarks, pinned to a CPU apart from the load generator. These
 * machines have two cores: the servers get CPU 0, the bench process (autocannon) CPU 1.
 */
export const SERVER_CPU = 0;
export const LOAD_CPU = 1;

let tasksetChecked: boolean | undefined;

/**
 * Whether CPUs can be pinned here: taskset can run a command on SERVER_CPU and on LOAD_CPU. Not
 * availableParallelism(), which counts the CPUs this process may use: in the bench re-run on
 * LOAD_CPU (or under `taskset -c 1`) it is 1, which left every server unpinned, on the load
 * generator's CPU.
 */
export function canPin(): boolean {
  if (tasksetChecked === undefined) {
    try {
      for (const cpu of [SERVER_CPU, LOAD_CPU])
        execFileSync('taskset', ['-c', String(cpu), 'true'], { stdio: 'ignore' });
      tasksetChecked = true;
    } catch {
      tasksetChecked = false;
    }
  }
  return tasksetChecked;
}

/** `command args` run on `cpu` where pinning is possible, else unchanged. */
export function pinnedCommand(cpu: number, command: string, args: readonly string[]): [string, string[]] {
  return canPin() ? ['taskset', ['-c', String(cpu), command, ...args]] : [command, [...args]];
}

/** Moves a running process and all its threads to `cpu` (for servers started by a harness). */
export function pinRunningProcess(pid: number | undefined, cpu: number): void {
  if (pid === undefined || !canPin()) return;
  execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' });
}

/**
 * Leaves a running process's main thread where it is and moves its other threads (V8's GC and
 * compiler helpers, libuv's pool) to `cpu`: as in a cluster, where a pod with a CPU request and no
 * limit runs its helper threads on whatever cores are free. Threads started later stay where their
 * parent was.
 */
export function pinHelperThreads(pid: number | undefined, cpu: number): number {
  if (pid === undefined || !canPin()) return 0;
  let moved = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    if (tid === String(pid)) continue;
    try {
      execFileSync('taskset', ['-p', '-c', String(cpu), tid], { stdio: 'ignore' });
      moved++;
    } catch {
      // The thread ended meanwhile.
    }
  }
  return moved;
}

export interface ServerProcess {
  child: ChildProcess;
  port: number;
  /** The fields of the ready line (the adapter's version, a double's kubeconfig path, …). */
  ready: Record<string, unknown>;
  /** Every stdout line that is not the ready line, for error messages. */
  output: string[];
  stop(): Promise<void>;
}

/**
 * Starts a server that prints a JSON line with `"msg": "serving …"` and its `port` when it
 * listens, as the adapter logs it (the baseline scripts print the same line).
 */
export async function startServerProcess(
  command: string,
  args: readonly string[],
  options: { cpu?: number; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<ServerProcess> {
  const [file, argv] = options.cpu === undefined ? [command, [...args]] : pinnedCommand(options.cpu, command, args);
  const child = spawn(file, argv, { env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = await new Promise<Record<string, unknown> & { port: number }>((resolve, reject) => {
    const timeoutMs = options.timeoutMs ?? 20_000;
    const timer = setTimeout(
      () => reject(new Error(`${command} did not start within ${timeoutMs} ms: ${tail(output)}`)),
      timeoutMs,
    );
    let buffer = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      buffer += chunk;
      for (let newline = buffer.indexOf('\n'); newline !== -1; newline = buffer.indexOf('\n')) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        const fields = readyLine(line);
        if (fields === undefined) output.push(line);
        else {
          clearTimeout(timer);
          resolve(fields);
        }
      }
    });
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => output.push(chunk));
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`${command} exited before serving: ${tail(output)}`));
    });
  });
  return {
    child,
    port: ready.port,
    ready,
    output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

function readyLine(line: string): (Record<string, unknown> & { port: number }) | undefined {
  try {
    const entry = JSON.parse(line) as Record<string, unknown>;
    const { port } = entry;
    return typeof port === 'number' && String(entry.msg).startsWith('serving') ? { ...entry, port } : undefined;
  } catch {
    return undefined;
  }
}

function tail(lines: readonly string[]): string {
  return lines.join('\n').slice(-2000);
}

/** CPU seconds (user + system) a process has used so far, from /proc; undefined where there is no /proc. */
export function cpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** Linux reports process times in USER_HZ, 100 on every architecture Node runs on. */
const CLOCK_TICKS_PER_SECOND = 100;
