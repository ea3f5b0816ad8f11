#!/usr/bin/env python3
# A front-end that dies with a reply unread, N times: it passes an fd
# (SET_VRING_KICK), asks for a reply (GET_FEATURES) and closes without
# reading it, so the daemon's next recvmsg fails with ECONNRESET.
#   vu-reset.py SOCKET [N]
import array, os, socket, struct, sys, time

VERSION = 0x1
GET_FEATURES, SET_OWNER, SET_VRING_KICK = 1, 3, 12

def msg(req, payload=b""):
    return struct.pack("<III", req, VERSION, len(payload)) + payload

def one(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.sendall(msg(SET_OWNER))
    efd = os.eventfd(0) if hasattr(os, "eventfd") else os.open("/dev/null", os.O_RDONLY)
    s.sendmsg([msg(SET_VRING_KICK, struct.pack("<Q", 0))],
              [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [efd]))])
    os.close(efd)
    s.sendall(msg(GET_FEATURES))
    time.sleep(0.05)  # the reply is now in our receive queue, unread
    s.close()

path = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 20
for _ in range(n):
    one(path)
    time.sleep(0.05)
