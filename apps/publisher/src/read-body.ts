import type { IncomingMessage } from 'node:http';

export type BodyResult =
  | { kind: 'ok'; body: Buffer }
  | { kind: 'too-large' }
  /** The client went away before the body was complete: nobody to answer. */
  | { kind: 'aborted' };

/**
 * Reads a request body into memory, never holding more than `limitBytes`.
 *
 * A declared `Content-Length` over the limit is refused before reading. A
 * body that passes the limit while streaming (chunked, or a lying length) is
 * refused at that moment; the rest is discarded without buffering, so the
 * caller can answer 413 while the client is still sending.
 */
export function readBody(req: IncomingMessage, limitBytes: number): Promise<BodyResult> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limitBytes) {
    discard(req);
    return Promise.resolve({ kind: 'too-large' });
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (result: BodyResult) => {
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
