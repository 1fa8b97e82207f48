#!/usr/bin/env python3
"""Draws Account Linker's icon (two linked rings on a rounded blue square) as RGBA PNGs.

No imaging library needed: pixels are computed with anti-aliasing by supersampling and written with zlib.
Run: python3 icons/generate.py  (writes the files next to this script)
"""
import math
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))


def rounded_square_alpha(x, y, r):
    """Coverage of a rounded square spanning [0.04, 0.96] with corner radius r (unit coordinates)."""
    lo, hi = 0.04, 0.96
    cx = min(max(x, lo + r), hi - r)
    cy = min(max(y, lo + r), hi - r)
    return 1.0 if (x - cx) ** 2 + (y - cy) ** 2 <= r * r and lo <= x <= hi and lo <= y <= hi else 0.0


def ring(x, y, cx, cy, radius, width):
    d = math.hypot(x - cx, y - cy)
    return abs(d - radius) <= width / 2


def pixel(x, y):
    """Colour (r, g, b, a) in 0..1 at unit coordinates."""
    if not rounded_square_alpha(x, y, 0.2):
        return (0.0, 0.0, 0.0, 0.0)
    # Background: a vertical gradient.
    t = y
    bg = (0.15 + 0.05 * t, 0.39 - 0.1 * t, 0.92 - 0.2 * t)
    left = ring(x, y, 0.39, 0.5, 0.19, 0.085)
    right = ring(x, y, 0.61, 0.5, 0.19, 0.085)
    # The left ring passes over the right one on the upper crossing, under it on the lower one.
    if left and (not right or y < 0.5):
        return (1.0, 1.0, 1.0, 1.0)
    if right:
        return (0.86, 0.93, 1.0, 1.0)
    return bg + (1.0,)


def render(size, samples=4):
    rows = []
    for py in range(size):
        row = bytearray([0])
        for px in range(size):
            acc = [0.0, 0.0, 0.0, 0.0]
            for sy in range(samples):
                for sx in range(samples):
                    r, g, b, a = pixel((px + (sx + 0.5) / samples) / size, (py + (sy + 0.5) / samples) / size)
                    acc[0] += r * a
                    acc[1] += g * a
                    acc[2] += b * a
                    acc[3] += a
            n = samples * samples
            alpha = acc[3] / n
            if alpha > 0:
                row += bytes(int(round(255 * c / acc[3])) for c in acc[:3])
            else:
                row += b"\0\0\0"
            row.append(int(round(255 * alpha)))
        rows.append(bytes(row))
    return b"".join(rows)


def png(size):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = render(size)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def main():
    for name, size in [("32x32.png", 32), ("128x128.png", 128), ("128x128@2x.png", 256), ("icon.png", 512)]:
        with open(os.path.join(HERE, name), "wb") as f:
            f.write(png(size))
        print("wrote", name)


if __name__ == "__main__":
    main()
