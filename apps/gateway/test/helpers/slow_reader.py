"""One WebSocket client on a slow link: it reads at most RATE bytes per second.

The socket gets a tiny receive buffer and an Ethernet-sized MSS
(slow_link.py), so the kernel cannot absorb the stream on the client's
behalf: what the client has not read yet piles up in the gateway. It prints
one line per message received:

  snapshot <scope> <seq> <part> <parts> <complete 0|1> <items>
  event <type> <seq>
  close <code>
  starved <ms>   (a sleep that overran by >= 100 ms: this process waited for a CPU)

and answers pings. It exits when the server closes or stdin closes.

usage: slow_reader.py PORT PATH RATE_BYTES_PER_SEC LOCAL_IP
"""
import json
import os
import select
import struct
import sys
import time

from slow_link import upgrade

port, path, rate, local_ip = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
READ = 16 * 1024

s, status = upgrade(port, path, local_ip)
if not status.startswith("HTTP/1.1 101"):
    print(f"close {status[9:12] or 'refused'}", flush=True)
    sys.exit(1)
buf = b""


def send_frame(opcode, payload):
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    s.sendall(bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + masked)


def on_text(payload):
    m = json.loads(payload)
    t = m.get("type")
    if t == "snapshot":
        d = m["data"]
        complete = 1 if d.get("complete", True) else 0
        print(f"snapshot {d['scope']} {d['seq']} {d.get('part', 1)} {d.get('parts', 1)} {complete} {len(d['items'])}")
    elif "seq" in m:
        print(f"event {t} {m['seq']}")
    else:
        print(f"other {t}")


def parse():
    """Handles every whole frame at the start of buf; returns False once the server closed."""
    global buf
    while len(buf) >= 2:
        opcode, n, at = buf[0] & 0x0F, buf[1] & 0x7F, 2
        if n == 126:
            if len(buf) < 4:
                return True
            n, at = struct.unpack(">H", buf[2:4])[0], 4
        elif n == 127:
            if len(buf) < 10:
                return True
            n, at = struct.unpack(">Q", buf[2:10])[0], 10
        if len(buf) < at + n:
            return True
        payload, buf = buf[at : at + n], buf[at + n :]
        if opcode == 0x1:
            on_text(payload)
        elif opcode == 0x9:
            send_frame(0xA, payload)
        elif opcode == 0x8:
            code = struct.unpack(">H", payload[:2])[0] if len(payload) >= 2 else 1005
            print(f"close {code}", flush=True)
            return False
    sys.stdout.flush()
    return True


if not parse():
    sys.exit(0)
start, total = time.monotonic(), 0
while True:
    ready, _, _ = select.select([s, sys.stdin], [], [], 1.0)
    if sys.stdin in ready and not sys.stdin.readline():
        break
    if s not in ready:
        continue
    chunk = s.recv(READ)
    if not chunk:
        print("close 1006", flush=True)
        break
    buf += chunk
    total += len(chunk)
    if not parse():
        break
    ahead = total / rate - (time.monotonic() - start)
    if ahead > 0:
        before = time.monotonic()
        time.sleep(ahead)
        overrun = time.monotonic() - before - ahead
        if overrun >= 0.1:
            print(f"starved {round(overrun * 1000)}", flush=True)
