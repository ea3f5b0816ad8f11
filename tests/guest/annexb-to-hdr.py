#!/usr/bin/env python3
"""Annex B H.264 -> the framed file of `v4l2-ctl --stream-to-hdr`, which
`v4l2-compliance --stream-from-hdr` reads: per buffer a big-endian u32
v4l2_fourcc('V','h','d','r'), then the big-endian u32 length of its one plane,
then the bytes. One access unit per buffer.

    annexb-to-hdr.py IN.h264 OUT.hdr
"""
import struct
import sys

HDR_ID = ord('V') | ord('h') << 8 | ord('d') << 16 | ord('r') << 24


def nal_units(data):
    starts = []
    i = 0
    while True:
        i = data.find(b'\x00\x00\x01', i)
        if i < 0:
            break
        s = i - 1 if i > 0 and data[i - 1] == 0 else i
        starts.append((s, i + 3))
        i += 3
    for k, (s, p) in enumerate(starts):
        end = starts[k + 1][0] if k + 1 < len(starts) else len(data)
        yield data[s:end], data[p] & 0x1f if p < len(data) else 0, data[p + 1:p + 2]


def access_units(data):
    au, has_slice = b'', False
    for nal, typ, nxt in nal_units(data):
        first_slice = typ in (1, 5) and nxt and nxt[0] & 0x80
        starts_au = typ in (6, 7, 8, 9) or first_slice
        if has_slice and starts_au:
            yield au
            au, has_slice = b'', False
        au += nal
        has_slice = has_slice or typ in (1, 5)
    if au:
        yield au


def main():
    data = open(sys.argv[1], 'rb').read()
    with open(sys.argv[2], 'wb') as out:
        n = 0
        for au in access_units(data):
            out.write(struct.pack('>II', HDR_ID, len(au)) + au)
            n += 1
    print(f'{n} access units')


if __name__ == '__main__':
    main()
