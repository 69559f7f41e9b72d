"""`python -m lab.bench scale-child N K`: the child process the `scale` figure measures."""

from __future__ import annotations

import asyncio
import json
import sys

from lab.bench.process import scale_child


def child(argv: list[str]) -> int:
    if len(argv) == 3 and argv[0] == "scale-child":
        n, k = int(argv[1]), int(argv[2])
        print(json.dumps(asyncio.run(scale_child(n, k))))
        return 0
    print("usage: python -m lab.bench scale-child N K   (or: lab bench)", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(child(sys.argv[1:]))
