import { execFile } from 'node:child_process';

/**
 * What `openssl s_client` prints after a handshake with a server on 127.0.0.1 (its output even
 * when the handshake fails). Its stdin is closed at once, so that it ends after the handshake:
 * left open, s_client waits for input until the timeout kills it.
 */
export function opensslClient(port: number, args: string[]): Promise<string> {
  return new Promise((resolve) => {
    const child = execFile(
      'openssl',
      ['s_client', '-connect', `127.0.0.1:${port}`, ...args],
      { timeout: 10_000, encoding: 'utf8' },
      (_error, stdout) => resolve(stdout),
    );
    child.stdin?.end();
  });
}
