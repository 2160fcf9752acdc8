import { connect, type Socket } from 'node:net';
import { adapterRequest } from './adapter-client.js';

/**
 * The connection-slot attack: `sockets` TCP connections that never send a byte, each reopened
 * as soon as the server closes it, so the server's connection cap stays full of them; meanwhile
 * real clients poll over new connections, as the kubelet's probes and a fresh aggregator
 * connection do. Bounded in count and time: it stops by itself after `durationMs`.
 */
export interface FloodOptions {
  port: number;
  /** Silent connections held open at once. */
  sockets: number;
  durationMs: number;
  /** Paths polled during the flood, each over a new connection every `pollEveryMs`. */
  polls: readonly string[];
  pollEveryMs: number;
  /** A poll fails when it has no answer within this (the Deployment's probe timeout is 3 s). */
  pollTimeoutMs: number;
}

export interface PollCount {
  ok: number;
  failed: number;
  /** The longest run of consecutive failures. */
  longestFailureRun: number;
  /** Milliseconds to each answer that came, sorted. */
  answerMs: number[];
}

export interface FloodResult {
  /** Silent connections opened, first round included. */
  opened: number;
  opensPerSecond: number;
  polls: Record<string, PollCount>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function connectionSlotFlood(options: FloodOptions): Promise<FloodResult> {
  const stopAt = Date.now() + options.durationMs;
  const open = new Set<Socket>();
  let opened = 0;
  const openOne = () => {
    if (Date.now() >= stopAt) return;
    opened++;
    const socket = connect({ host: '127.0.0.1', port: options.port });
    open.add(socket);
    socket.on('error', () => {});
    socket.once('close', () => {
      open.delete(socket);
      // A tick later, as an attacker's loop would: not inside the close of the server's cut.
      setImmediate(openOne);
    });
  };
  for (let i = 0; i < options.sockets; i++) openOne();
  // Let the silent connections fill the cap before the real clients start.
  await sleep(500);

  const polls: Record<string, PollCount> = {};
  const pollers = options.polls.map(async (path) => {
    const count: PollCount = { ok: 0, failed: 0, longestFailureRun: 0, answerMs: [] };
    polls[path] = count;
    let run = 0;
    while (Date.now() < stopAt) {
      const next = Date.now() + options.pollEveryMs;
      const status = await adapterRequest(options.port, path, { timeoutMs: options.pollTimeoutMs }).then(
        (answer) => {
          count.answerMs.push(answer.ms);
          return answer.status;
        },
        () => 0,
      );
      if (status === 200) {
        count.ok++;
        run = 0;
      } else {
        count.failed++;
        run++;
        count.longestFailureRun = Math.max(count.longestFailureRun, run);
      }
      await sleep(Math.max(0, next - Date.now()));
    }
  });
  await Promise.all(pollers);
  for (const count of Object.values(polls)) count.answerMs.sort((a, b) => a - b);
  await sleep(Math.max(0, stopAt - Date.now()));
  for (const socket of open) socket.destroy();
  return { opened, opensPerSecond: Math.round(opened / (options.durationMs / 1000)), polls };
}

/** `ok/total` as a percentage, for messages. */
export function successRate(count: PollCount): number {
  const total = count.ok + count.failed;
  return total === 0 ? 0 : (100 * count.ok) / total;
}
