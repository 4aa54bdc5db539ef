/**
 * `hydra tail`: a terminal client of the stream. The CLI wires it as
 * `parseTailArgs(argv)` then `runTail({ ...args, out, err, isTTY, signal })`.
 */
export { runTail, type TailOptions, type TailOutput } from './run-tail.js';
export {
  DEFAULT_RATE_INTERVAL_MS,
  DEFAULT_TAIL_URL,
  parseTailArgs,
  type TailArgs,
  type TailRequest,
} from './tail-args.js';
export {
  displayUrl,
  formatAltitude,
  formatClock,
  formatConnectedLine,
  formatEventLine,
  formatFrequency,
  formatRateLine,
  formatResyncLine,
  formatSnapshotLine,
  formatWarning,
  summarizeEvent,
} from './tail-format.js';
