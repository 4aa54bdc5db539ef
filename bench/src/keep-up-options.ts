/** The keep-up mode's command line (keep-up.ts): its phases and options, checked once. */

export const KEEP_UP_PHASES = ['clients', 'no-clients'] as const;
export type KeepUpPhase = (typeof KEEP_UP_PHASES)[number];

export interface KeepUpOptions {
  seconds: number;
  rounds: number;
  inFlight: number;
  clients: number;
  trickleRate: number;
  phases: KeepUpPhase[];
  /** Another gateway build's main.js (e.g. one from before a fix), instead of apps/gateway/dist/main.js. */
  gatewayMain: string | null;
}

export function parseKeepUpArgs(argv: string[]): KeepUpOptions {
  const o: KeepUpOptions = {
    seconds: 120,
    rounds: 1,
    inFlight: 4,
    clients: 1_000,
    trickleRate: 10,
    phases: [...KEEP_UP_PHASES],
    gatewayMain: null,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const next = () => argv[++i] ?? '';
    if (a === '--keep-up-seconds') o.seconds = Number(next());
    else if (a === '--keep-up-rounds') o.rounds = Number(next());
    else if (a === '--in-flight') o.inFlight = Number(next());
    else if (a === '--clients') o.clients = Number(next());
    else if (a === '--trickle-rate') o.trickleRate = Number(next());
    else if (a === '--phases') o.phases = next().split(',') as KeepUpPhase[];
    else if (a === '--gateway-main') o.gatewayMain = next();
    else if (a !== '--keep-up' && a !== '--') throw new Error(`--keep-up: unknown argument ${a}`);
  }
  const positive = (x: number) => Number.isInteger(x) && x > 0;
  if (!(o.seconds >= 4 && o.seconds <= 3_600)) throw new Error('--keep-up-seconds: 4 to 3600');
  if (!positive(o.rounds) || !positive(o.inFlight) || !positive(o.clients)) {
    throw new Error('--keep-up-rounds, --in-flight, --clients: positive integers');
  }
  if (!(o.trickleRate > 0 && o.trickleRate <= 1_000)) throw new Error('--trickle-rate: 1 to 1000 events/s');
  if (o.phases.length === 0 || !o.phases.every((p) => KEEP_UP_PHASES.includes(p))) {
    throw new Error(`--phases: some of ${KEEP_UP_PHASES.join(',')}`);
  }
  return o;
}
