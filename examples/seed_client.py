# The seed's Python example (hydra-stream.md), verbatim but for where the URL
# and key come from. Needs the `websockets` package (Debian: python3-websockets).
#   HYDRA_STREAM_URL=ws://localhost:8080/v1/stream HYDRA_API_KEY=hydra_k1_… python3 examples/seed_client.py
import asyncio
import json
import os
import websockets
API_KEY = os.environ["HYDRA_API_KEY"]
ENDPOINT = os.environ.get("HYDRA_STREAM_URL", "ws://localhost:8080/v1/stream")
async def connect():
    uri = f"{ENDPOINT}?apiKey={API_KEY}"
    async with websockets.connect(uri) as ws:
        async for message in ws:
            msg = json.loads(message)
            print(f"[{msg['type']}] {msg['data']}", flush=True)
asyncio.run(connect())
