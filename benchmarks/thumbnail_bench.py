"""Memory of thumbnail uploads: 8 decompression bombs at once, before and after the bounded decoder.

    .venv/bin/python benchmarks/thumbnail_bench.py

Each scenario runs in a fresh interpreter: 8 concurrent uploads of one image through the code the
deploy form calls, then the process's RSS before, at its peak (``ru_maxrss``) and afterwards:

- ``before``: what the service did until issue 10 — ``reencode`` in the default thread pool (one thread
  per upload), 24 million pixels allowed, no trimming; the image is the issue's 4898x4898 PNG (~70 KB);
- ``after, bomb``: :meth:`ThumbnailStore.check` with the default settings (12 million pixels, 2
  decoding threads): the same PNG, refused from its header;
- ``after, at the limit``: the same with a 3464x3464 PNG (12.0 million pixels, accepted), so all 8
  are decoded, two at a time, and the freed buffers are handed back.
"""

from __future__ import annotations

import json
import subprocess
import sys

SCENARIO = r"""
import asyncio, io, json, resource, sys
from PIL import Image
from hubapps.core.errors import SpecError
from hubapps.service.settings import ServiceSettings
from hubapps.service.thumbnails import ThumbnailStore, reencode

def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20

kind, side = sys.argv[1], int(sys.argv[2])
out = io.BytesIO()
Image.new("L", (side, side), 0).save(out, format="PNG", optimize=True)
data = out.getvalue()
s = ServiceSettings()
limits = dict(max_bytes=s.thumbnail_max_bytes, width=s.thumbnail_width, height=s.thumbnail_height)

async def one(store):
    try:
        if kind == "before":
            await asyncio.to_thread(reencode, data, max_pixels=24_000_000, **limits)
        else:
            await store.check(data, max_pixels=s.thumbnail_max_pixels, **limits)
        return "accepted"
    except SpecError as exc:
        return exc.message

async def main():
    store = ThumbnailStore("sqlite://", decode_workers=s.thumbnail_decode_workers)
    before = rss_mb()
    results = await asyncio.gather(*(one(store) for _ in range(8)))
    after = rss_mb()
    store.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"png_kb": len(data) / 1024, "before": before, "peak": peak, "after": after,
                      "result": results[0]}))

asyncio.run(main())
"""


def run(kind: str, side: int) -> dict[str, object]:
    out = subprocess.run([sys.executable, "-c", SCENARIO, kind, str(side)], capture_output=True, text=True, check=True)
    return dict(json.loads(out.stdout))


def main() -> None:
    rows = [
        ("before (4898x4898 x8)", run("before", 4898)),
        ("after, bomb (4898x4898 x8)", run("after", 4898)),
        ("after, at the limit (3464x3464 x8)", run("after", 3464)),
    ]
    print(f"{'scenario':38} {'PNG KB':>7} {'RSS before':>11} {'peak':>8} {'after':>8}  result")
    for name, r in rows:
        print(
            f"{name:38} {r['png_kb']:7.0f} {r['before']:9.0f} MB {r['peak']:6.0f} MB {r['after']:6.0f} MB  "
            f"{str(r['result'])[:70]}"
        )


if __name__ == "__main__":
    main()
