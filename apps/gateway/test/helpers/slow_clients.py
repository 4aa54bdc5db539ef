"""Opens N WebSocket connections that stop reading right after the upgrade.

Each socket gets a tiny receive buffer (SO_RCVBUF, set before connect so the
TCP window stays small), so the kernel cannot absorb megabytes on the
consumer's behalf: the gateway's own send buffer is what fills, as with a
real slow consumer on a slow link. Prints "ready <n>" once every upgrade was
answered 101, then holds the sockets (without reading) until stdin closes.

usage: slow_clients.py PORT PATH COUNT IP_PREFIX   (IP_PREFIX like 127.0.72)
"""
import base64
import os
import socket
import sys

port, path, count, prefix = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
socks = []
for i in range(count):
    ip = f"{prefix}.{i // 10 + 1}"  # 10 per source address: the per-IP limit stays at its default
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.bind((ip, 0))
    s.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(
        (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(1)
        if not chunk:
            break
        head += chunk
    if not head.startswith(b"HTTP/1.1 101"):
        print(f"refused {head[:40]!r}", flush=True)
        sys.exit(1)
    socks.append(s)
print(f"ready {len(socks)}", flush=True)
sys.stdin.read()
