import { createServer } from 'node:net';

/**
 * Ports are drawn from below the kernel's ephemeral range (32768–60999 on
 * Linux): a port handed out here cannot be taken, between the check and the
 * server's own bind, by some test's outgoing connection picking it as its
 * source port (which is how a Redis Cluster bus port was once lost). Two
 * callers could still draw the same port; the draw is random over ~17,000
 * ports and callers that launch servers retry on "address in use".
 */
const LOW = 15_000;
const HIGH = 32_000;
const DRAWS = 50;

/** A TCP port on 127.0.0.1 that was free a moment ago (closed again before returning). */
export async function freePort(): Promise<number> {
  for (let i = 0; i < DRAWS; i++) {
    const port = LOW + Math.floor(Math.random() * (HIGH - LOW));
    if (await canListen(port)) return port;
  }
  return listenOnAny();
}

/** True when nothing else holds `err`'s port: the launch can be retried on other ports. */
export function isAddressInUse(err: unknown): boolean {
  const text = err instanceof Error ? err.message : String(err);
  return /address already in use|EADDRINUSE|Failed listening/i.test(text);
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

function listenOnAny(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
