import type { AddressInfo } from 'node:net';

/** Starts `server` listening and returns the port it got (port 0: any free one). */
export async function listen(
  server: { listen(port: number, host: string, cb: () => void): unknown; once(event: 'error', cb: (err: Error) => void): unknown; address(): unknown },
  port = 0,
  host = '127.0.0.1',
): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return (server.address() as AddressInfo).port;
}
