"""`lab bench` figure `class`: a host and 30 student processes on this machine (issue 16).

- value: from starting 30 `lab join` processes until the host's roster shows every one
  of them online at the height of a 200-block class chain (mined before, not timed);
- block: a block one student mines, until the host's roster shows it as every
  participant's tip (reports travel every 0.2 s, so this is an upper bound);
- memory: the largest peak resident memory (VmHWM) of a student process.

Each laptop is a separate `python -m lab` process on 127.0.0.1, driven through a pipe.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from typing import Any

DIFFICULTY = "8"  # the 200 blocks are mined before the clock starts; their proof of work is not measured
SUMMARY = re.compile(r"^(\d+) participants? online")


class _Proc:
    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.p = subprocess.Popen([sys.executable, "-m", "lab", "--difficulty", DIFFICULTY, "--plain", *args],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True, bufsize=1, env=env)
        self.lines: list[str] = []
        self.cond = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.p.stdout is not None
        for line in self.p.stdout:
            with self.cond:
                self.lines.append(line.rstrip("\n"))
                self.cond.notify_all()

    def send(self, line: str) -> int:
        with self.cond:
            mark = len(self.lines)
        assert self.p.stdin is not None
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        return mark

    def wait(self, pred: Any, since: int = 0, timeout: float = 120) -> str:
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for line in self.lines[since:]:
                    if pred(line):
                        return line
                if time.monotonic() > deadline or self.p.poll() is not None:
                    raise RuntimeError("class bench: no answer; last output: " + " / ".join(self.lines[-5:]))
                self.cond.wait(0.2)

    def rows(self) -> list[list[str]]:
        """`class` on this process: its roster rows (name, address, height, tip, ...)."""
        mark = self.send("class")
        end = self.wait(lambda s: bool(SUMMARY.match(s)), mark)
        with self.cond:
            out = self.lines[mark:]
        out = out[:out.index(end)]
        return [c for c in (re.split(r"\s{2,}", s.strip()) for s in out) if len(c) == 7 and c[0] != "name"
                and not c[0].startswith("-")]

    def hwm_mb(self) -> float:
        try:
            with open(f"/proc/{self.p.pid}/status", encoding="ascii") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) / 1024
        except OSError:
            pass
        return float("nan")

    def close(self) -> None:
        if self.p.poll() is None:
            try:
                assert self.p.stdin is not None
                self.p.stdin.close()
                self.p.wait(20)
            except (OSError, subprocess.TimeoutExpired):
                self.p.kill()
                self.p.wait(5)
        self.reader.join(5)
        if self.p.stdout is not None:
            self.p.stdout.close()


def _until(proc: _Proc, pred: Any, timeout: float = 120) -> list[list[str]]:
    deadline = time.monotonic() + timeout
    while True:
        rows = proc.rows()
        if pred(rows):
            return rows
        if time.monotonic() > deadline:
            raise RuntimeError("class bench: the class never got there")


def run_class(students: int, blocks: int, env: dict[str, str]) -> dict[str, float]:
    host = _Proc(["class", "host", "--name", "teacher"], env)
    procs: list[_Proc] = [host]
    try:
        first = host.wait(lambda s: s.startswith("class open:"))
        _, _, _, _, addr, _, code = first.split()
        mark = host.send(f"mine TEACHER {blocks}")
        host.wait(lambda s: f"mined block {blocks} " in s, mark)
        t0 = time.perf_counter()
        for i in range(students):
            procs.append(_Proc(["join", addr, "--code", code, "--name", f"s{i:02d}"], env))
        _until(host, lambda rows: len(rows) == students + 1
               and all(r[2] == str(blocks) and r[5] == "yes" for r in rows))
        synced = time.perf_counter() - t0
        miner = procs[1]
        tip_before = {r[3] for r in host.rows()}
        t1 = time.perf_counter()
        mark = miner.send("mine S00")
        line = miner.wait(lambda s: "mined block" in s, mark)
        new_tip = line.split("mined block")[1].split()[1]
        _until(host, lambda rows: all(r[3] == new_tip for r in rows) and new_tip not in tip_before)
        block = time.perf_counter() - t1
        memory = max(p.hwm_mb() for p in procs[1:])
        return {"value": synced, "block": block, "memory": memory}
    finally:
        for p in reversed(procs):
            p.close()


def fig_class(quick: bool, runs: int) -> list[dict[str, float]]:
    env = dict(os.environ, NO_COLOR="1", PYTHONUNBUFFERED="1")
    students, blocks = (5, 20) if quick else (30, 200)
    return [run_class(students, blocks, env) for _ in range(runs)]
