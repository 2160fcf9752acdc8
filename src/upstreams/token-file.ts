import { readFile } from 'node:fs/promises';

/** How long a read token is used before the file is read again; client-go's file token source waits a minute too. */
const REREAD_AFTER_MS = 60_000;

/**
 * A bearer token kept in a file that kubelet rotates in place (a projected service-account
 * token): read again a minute after the last read, and at once after the upstream refused it.
 */
export class TokenFile {
  private token: string | undefined;
  private readAt = Number.NEGATIVE_INFINITY;
  private reading: Promise<string> | undefined;

  constructor(
    readonly path: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** The token, from memory while it is fresh. Rejects when the file cannot be read or is empty. */
  current(): Promise<string> | string {
    if (this.token !== undefined && this.now() - this.readAt < REREAD_AFTER_MS) return this.token;
    this.reading ??= this.read().finally(() => {
      this.reading = undefined;
    });
    return this.reading;
  }

  /** The upstream answered 401: the token may have rotated under us. */
  invalidate(): void {
    this.readAt = Number.NEGATIVE_INFINITY;
  }

  private async read(): Promise<string> {
    const token = (await readFile(this.path, 'utf8')).trim();
    if (token.length === 0) throw new Error(`token file ${this.path} is empty`);
    this.token = token;
    this.readAt = this.now();
    return token;
  }
}
