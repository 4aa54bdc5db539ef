"""Opens N WebSocket connections that stop reading right after the upgrade.

Each socket gets a tiny receive buffer (SO_RCVBUF, set before connect so the
TCP window stays small), so the kernel cannot absorb megabytes on the
consumer's behalf: the gateway's own send buffer is what fills, as with a
real slow consumer on a slow link. Prints "ready <n>" once every upgrade was
answered 101, then holds the sockets (without reading) until stdin closes.

Each socket also announces an Ethernet-sized MSS (TCP_MAXSEG, default 1448).
Over loopback the MSS is 64 KiB, and Linux sizes a new connection's send
buffer from MSS x initial window: about 1.5 MB of kernel memory per
non-reading socket, 1.5 GB for 1,000 of them, which pushes the whole
machine's TCP into memory pressure (net.ipv4.tcp_mem) and throttles every
socket on it. Internet clients get ~100 KB per socket, as here.

usage: slow_clients.py PORT PATH COUNT IP_PREFIX [MSS]   (IP_PREFIX like 127.0.72; MSS 0 = loopback's own)
"""
import base64
import os
import socket
import sys

port, path, count, prefix = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
mss = int(sys.argv[5]) if len(sys.argv) > 5 else 1448
socks = []
for i in range(count):
    ip = f"{prefix}.{i // 10 + 1}"  # 10 per source address: the per-IP limit stays at its default
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    if mss:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, mss)
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
