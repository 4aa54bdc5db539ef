// @hydra/client in a Node script: every event exactly once across reconnects, and the aircraft state.
// Build first (`pnpm build`), then:
//   HYDRA_STREAM_URL=ws://localhost:8080/v1/stream HYDRA_API_KEY=hydra_k1_… node examples/sdk-node.mjs
// HYDRA_STREAM_URL may list several replicas, comma-separated: each reconnect moves to the next.
import { HydraClient } from '@hydra/client';
import WebSocket from 'ws';

const client = new HydraClient({
  url: (process.env.HYDRA_STREAM_URL ?? 'ws://localhost:8080/v1/stream').split(','),
  apiKey: process.env.HYDRA_API_KEY ?? '',
  WebSocket, // Node 22+ could use its global WebSocket instead
});
client.on('status', (s) => console.error(`[${s.state}] ${s.url}`, s.code ?? '', s.reason ?? '', s.delayMs ?? ''));
client.on('snapshot', (s) => console.error(`snapshot ${s.scope}@${s.seq}: ${s.items.length} items`));
client.on('resync', (r) => console.error(`resync ${r.scope} (${r.reason}): state replaced at seq ${r.seq}`));
const report = setInterval(() => console.error(`${client.entities('aircraft').size} aircraft tracked`), 10_000);
process.once('SIGINT', () => {
  clearInterval(report);
  client.close();
});

for await (const event of client.events()) console.log(JSON.stringify(event));
