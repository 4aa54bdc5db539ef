// The seed's JavaScript example (hydra-stream.md), verbatim but for where the
// URL and key come from. Runs in browsers, and in Node 20 with
// `node --experimental-websocket` (Node 22+ has WebSocket built in).
//   HYDRA_STREAM_URL=ws://localhost:8080/v1/stream HYDRA_API_KEY=hydra_k1_… node --experimental-websocket examples/seed-client.mjs
const apiKey = process.env.HYDRA_API_KEY;
const endpoint = process.env.HYDRA_STREAM_URL ?? 'ws://localhost:8080/v1/stream';
const ws = new WebSocket(`${endpoint}?apiKey=${apiKey}`);
ws.addEventListener('open', () => {
  console.log('Connected to Hydra stream');
});
ws.addEventListener('message', (event) => {
  const msg = JSON.parse(event.data);
  console.log(msg.type, msg.data);
});
ws.addEventListener('close', (event) => {
  console.log('Disconnected:', event.code, event.reason);
});
ws.addEventListener('error', (error) => {
  console.error('WebSocket error:', error);
});
