import type { DestinationStream } from 'pino';
import sonicBoom, { type SonicBoom as SonicBoomClass } from 'sonic-boom';

// A CommonJS module whose types declare an ES default export: at run time the default is the class.
const SonicBoom = sonicBoom as unknown as typeof SonicBoomClass;

/** Log bytes kept while the reader is slow (the pipe is full); lines past it are dropped. */
const MAX_PENDING_BYTES = 4 * 1024 * 1024;

export interface StdoutDestinationOptions {
  /** 1 (stdout, the default) or 2; tests pass the write end of their own pipe. */
  fd?: number;
  /** Called once, when the reader went away and logging stopped. */
  onBroken?: (error: NodeJS.ErrnoException) => void;
}

/**
 * The log destination of every Hydra process: the file descriptor, written
 * synchronously, never blocking on a slow reader and never outliving a gone one.
 *
 * pino's default (an asynchronous SonicBoom flushed synchronously at exit)
 * hangs a process whose stdout reader died (`pnpm start | cat`, then Ctrl-C):
 * the exit flush retries `write(1) = EPIPE` every 100 ms, forever, inside
 * the 'exit' event, where no signal handler can run any more. Here:
 *
 * - writes are synchronous, so nothing is left to flush at exit;
 * - EAGAIN (a non-blocking pipe whose reader is slow) does not wait: the
 *   line stays pending and goes out with the next write, and past
 *   MAX_PENDING_BYTES lines are dropped (logging degrades, serving goes on);
 * - any other error (EPIPE: the reader is gone) stops logging for good.
 */
export function stdoutDestination(options: StdoutDestinationOptions = {}): DestinationStream {
  const stream = new SonicBoom({
    fd: options.fd ?? 1,
    sync: true,
    maxLength: MAX_PENDING_BYTES,
    retryEAGAIN: () => false,
  });
  let broken = false;
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EAGAIN' || error.code === 'EBUSY') return;
    if (broken) return;
    broken = true;
    options.onBroken?.(error);
  });
  return {
    write(line: string) {
      if (!broken) stream.write(line);
    },
  };
}
