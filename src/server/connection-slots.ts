import type { Socket } from 'node:net';
import { Counter, type Registry } from 'prom-client';

/**
 * The connection cap (--max-connections), kept so that connections which have not yet sent a
 * request cannot lock real clients out. Node's own cap turns every newcomer away once it is
 * full: a thousand silent sockets, reopened as the server closed them, kept it full and failed
 * most /livez probes. Here a newcomer takes the slot of the oldest connection that has not sent a
 * request yet (a real client sends its TLS hello and request within milliseconds, so it is the
 * newest, not the oldest, of those); only when every slot holds a connection that has sent one
 * is the newcomer closed.
 *
 * Silent connections are not closed any sooner than the handshake timeout: an attacker reopens
 * what is closed, and a one-second cut made it reopen a thousand a second, which queued real
 * clients behind them in the kernel's accept queue (probe answers 51 ms → 2.5 s at the median,
 * bench/connection-flood.ts). Held, they cost a slot that the next real client takes anyway.
 */
export interface ConnectionSlotOptions {
  maxConnections: number;
  /** Shows the closes as hpa_metrics_adapter_connections_closed_early_total{reason}. */
  registry?: Registry;
}

export type EarlyCloseReason = 'evicted' | 'full';

export class ConnectionSlots {
  /** Every connection holding a slot, with the key its requests know it by. */
  private readonly held = new Map<Socket, string>();
  /** Those that have not sent a request yet, oldest first (a Map iterates in insertion order). */
  private readonly waiting = new Map<string, Socket>();
  private readonly closedEarly: Counter<'reason'> | undefined;

  constructor(private readonly options: ConnectionSlotOptions) {
    this.closedEarly = options.registry
      ? new Counter({
          name: 'hpa_metrics_adapter_connections_closed_early_total',
          help: 'Connections closed for the connection cap: evicted (the oldest of those that had sent no request yet, for a newcomer), full (the newcomer, every slot being held by connections that had sent a request).',
          labelNames: ['reason'],
          registers: [options.registry],
        })
      : undefined;
  }

  get size(): number {
    return this.held.size;
  }

  /** A new TCP connection (net.Server's 'connection'): gives it a slot, or closes it. */
  admit(socket: Socket): void {
    if (this.held.size >= this.options.maxConnections) {
      const oldest = this.waiting.values().next().value;
      if (oldest === undefined) {
        this.close(socket, 'full');
        return;
      }
      this.release(oldest);
      this.close(oldest, 'evicted');
    }
    const key = keyOf(socket.remoteAddress, socket.remotePort);
    this.held.set(socket, key);
    this.waiting.set(key, socket);
    socket.once('close', () => this.release(socket));
  }

  /** The connection at this peer address sent a request: from now on it keeps its slot. */
  requested(remoteAddress: string | undefined, remotePort: number | undefined): void {
    this.waiting.delete(keyOf(remoteAddress, remotePort));
  }

  private release(socket: Socket): void {
    const key = this.held.get(socket);
    if (key === undefined) return;
    this.held.delete(socket);
    if (this.waiting.get(key) === socket) this.waiting.delete(key);
  }

  private close(socket: Socket, reason: EarlyCloseReason): void {
    this.closedEarly?.inc({ reason });
    socket.destroy();
  }
}

/** The TCP peer, which the raw socket and the TLS socket on top of it share. */
function keyOf(address: string | undefined, port: number | undefined): string {
  return `${address ?? ''}|${port ?? ''}`;
}
