import { request } from 'node:http';

export interface HttpReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: test replies are checked field by field
  json: () => any;
}

export interface HttpRequest {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  /** Sent as is; a function writes the body itself (e.g. a large stream) and ends it. */
  body?: string | Buffer | ((write: (chunk: Buffer) => boolean, end: () => void) => void);
  /** Source address of the connection (a loopback alias like 127.0.0.2 is another client). */
  localAddress?: string;
}

/**
 * A small node:http client for tests. Unlike fetch, it surfaces an answer the
 * server sends while the body is still being written (413), and ignores the
 * write errors that follow when the server then closes the connection.
 */
export function httpRequest(port: number, req: HttpRequest): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const r = request(
      {
        host: '127.0.0.1',
        port,
        method: req.method ?? 'GET',
        path: req.path,
        headers: req.headers,
        agent: false,
        localAddress: req.localAddress,
      },
      (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) });
        });
        res.on('error', reject);
      },
    );
    r.on('error', (err) => {
      if (!answered) reject(err);
    });
    const body = req.body;
    if (typeof body === 'function') {
      body(
        (chunk) => !r.destroyed && r.write(chunk),
        () => r.end(),
      );
    } else {
      r.end(body);
    }
  });
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
