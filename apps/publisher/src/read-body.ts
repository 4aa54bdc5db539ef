import type { IncomingMessage } from 'node:http';

export type BodyResult =
  | { kind: 'ok'; body: Buffer }
  | { kind: 'too-large' }
  /** The body did not arrive whole within the deadline (a slow or stalled client: answer 408). */
  | { kind: 'timeout' }
  /** The client went away before the body was complete: nobody to answer. */
  | { kind: 'aborted' };

/**
 * Reads a request body into memory, never holding more than `limitBytes`.
 *
 * A declared `Content-Length` over the limit is refused before reading. A
 * body that passes the limit while streaming (chunked, or a lying length) is
 * refused at that moment; the rest is discarded without buffering, so the
 * caller can answer 413 while the client is still sending. A body not
 * complete within `timeoutMs` is given up the same way (`timeout`): the
 * server's own request timeout is off, since it would also cut the
 * long-lived `POST /v1/events/stream`.
 */
export function readBody(req: IncomingMessage, limitBytes: number, timeoutMs: number): Promise<BodyResult> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limitBytes) {
    discard(req);
    return Promise.resolve({ kind: 'too-large' });
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (result: BodyResult) => {
      clearTimeout(deadline);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onAbort);
      req.off('close', onAbort);
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limitBytes) {
        chunks.length = 0;
        finish({ kind: 'too-large' });
        discard(req);
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => finish({ kind: 'ok', body: Buffer.concat(chunks, size) });
    const onAbort = () => finish({ kind: 'aborted' });
    const deadline = setTimeout(() => {
      chunks.length = 0;
      finish({ kind: 'timeout' });
      discard(req);
    }, timeoutMs);
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', onAbort);
    req.once('close', onAbort);
  });
}

/** Lets the rest of a refused body flow into nothing (the connection is closed after the answer). */
function discard(req: IncomingMessage): void {
  req.on('error', () => {});
  req.resume();
}
