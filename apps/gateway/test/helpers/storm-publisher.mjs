// The publisher of the resume storm test, in a process of its own so that its
// pace does not depend on how busy the test process is reading its clients.
//
//   node storm-publisher.mjs <redis url> <HYDRA_RETENTION> <events per second>
//
// Publishes stormEvent(scope, n) for n = 1, 2, … of every scope, round robin,
// at the given pace (in batches of at most 1000; behind schedule it catches up),
// until its stdin closes. It expects Redis to start empty: the n-th event of a
// scope must get seq n, else it exits 1. After each batch it prints
// {"last":[<last seq per scope, in SCOPES order>]}; at the end
// {"last":[…],"published":N,"ms":<time publishing>}.
//
// The test rebuilds the log from those lines and stormEvent(): same function,
// same data.

import { pathToFileURL } from 'node:url';

/** Entity events cycle over this many ids per scope. */
export const STORM_ENTITY_IDS = 250;

/** The data of the n-th event of `scope` (n = its seq). */
export function stormEvent(scope, n) {
  return scope === 'aircraft' || scope === 'vessels'
    ? { id: `${scope}-${n % STORM_ENTITY_IDS}`, n, lat: (n % 180) - 90 }
    : { n, label: `${scope}-${n}` };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function main() {
  const [url, retention, rateText] = process.argv.slice(2);
  const rate = Number(rateText);
  const { createBackplane, parseRetention } = await import('@hydra/backplane');
  const { SCOPES } = await import('@hydra/protocol');
  const backplane = createBackplane({ kind: 'redis', url, retention: parseRetention(retention) });
  let stopping = false;
  process.stdin.on('end', () => {
    stopping = true;
  });
  process.stdin.resume();

  // Batches go out two at a time on the one connection (Redis runs them in order, so seqs stay n):
  // behind schedule under load, the round trips overlap and the pace recovers.
  const last = SCOPES.map(() => 0);
  const inflight = [];
  let queued = 0;
  let published = 0;
  const started = performance.now();
  while (!stopping) {
    const due = Math.floor(((performance.now() - started) / 1000) * rate) - queued;
    if (due <= 0) {
      if (inflight.length > 0) await inflight.shift();
      else await sleep(5);
      continue;
    }
    const batch = [];
    for (let i = 0; i < Math.min(due, 1000); i++) {
      const s = (queued + i) % SCOPES.length;
      last[s]++;
      batch.push({ scope: SCOPES[s], data: stormEvent(SCOPES[s], last[s]) });
    }
    queued += batch.length;
    const upTo = [...last];
    inflight.push(
      backplane.bus.publish(batch).then((results) => {
        results.forEach((p, i) => {
          if (p.seq !== batch[i].data.n) throw new Error(`${p.scope} event ${batch[i].data.n} got seq ${p.seq}`);
        });
        published += batch.length;
        process.stdout.write(`${JSON.stringify({ last: upTo })}\n`);
      }),
    );
    if (inflight.length >= 2) await inflight.shift();
  }
  await Promise.all(inflight);
  const ms = performance.now() - started;
  process.stdout.write(`${JSON.stringify({ last, published, ms })}\n`);
  await backplane.close();
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
