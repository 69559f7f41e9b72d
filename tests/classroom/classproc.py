"""Every laptop a separate `lab` process on 127.0.0.1, driven through a pipe (tests of issue 16).

`Laptop` starts `lab ... class host` or `lab ... join`, reads its output on a
thread and lets a test send lines and wait for lines; `roster()` asks `class`
and parses the table. Everything waits on a condition, with a deadline.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable

DIFFICULTY = "6"  # proof of work in milliseconds, not seconds
WAIT = 30.0  # seconds any one condition may take on a loaded 2-core machine
SUMMARY = re.compile(r"^(\d+) participants? online, (\d+) groups?, (\d+) tips?")


class Laptop:
    def __init__(self, *args: str) -> None:
        env = dict(os.environ, NO_COLOR="1", PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen([sys.executable, "-m", "lab", "--difficulty", DIFFICULTY, "--plain", *args],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, bufsize=1, env=env)
        self.lines: list[str] = []
        self.cond = threading.Condition()
        self.done = False  # the process's output ended
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    @classmethod
    def host(cls, name: str = "teacher", *extra: str) -> tuple[Laptop, str, str]:
        lap = cls("class", "host", "--name", name, *extra)
        first = lap.wait_line(lambda s: s.startswith("class open:"))
        m = re.fullmatch(r"class open: lab join (\S+) --code (\S+)", first)
        assert m, first
        return lap, m.group(1), m.group(2)

    @classmethod
    def join(cls, addr: str, code: str, name: str) -> Laptop:
        lap = cls("join", addr, "--code", code, "--name", name)
        lap.wait_line(lambda s: "joined the class" in s)
        return lap

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self.cond:
                self.lines.append(line.rstrip("\n"))
                self.cond.notify_all()
        with self.cond:
            self.done = True
            self.cond.notify_all()

    def send(self, line: str) -> int:
        """Send one command line; the index of the first output line that can answer it."""
        with self.cond:
            mark = len(self.lines)
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return mark

    def wait_line(self, pred: Callable[[str], bool], since: int = 0, timeout: float = WAIT) -> str:
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for line in self.lines[since:]:
                    if pred(line):
                        return line
                left = deadline - time.monotonic()
                if left <= 0 or self.done:
                    raise AssertionError("no such line; output was:\n" + "\n".join(self.lines[-60:]))
                self.cond.wait(min(left, 0.5))

    def run(self, line: str, until: str) -> list[str]:
        """Send a command; the output lines up to the one that contains `until`."""
        mark = self.send(line)
        last = self.wait_line(lambda s: until in s, mark)
        with self.cond:
            out = self.lines[mark:]
        return out[:out.index(last) + 1]

    def roster(self) -> dict:
        """`class`, parsed: rows by name, groups, and the summary counts."""
        mark = self.send("class")
        summary = self.wait_line(lambda s: bool(SUMMARY.match(s)), mark)
        with self.cond:
            out = self.lines[mark:]
        out = out[:out.index(summary) + 1]
        rows, groups, mine = {}, [], ""
        for line in out:
            cells = re.split(r"\s{2,}", line.strip())
            if len(cells) == 7 and cells[0] != "name" and not cells[0].startswith("-"):
                rows[cells[0].split()[0]] = dict(zip(("name", "address", "height", "tip", "peers", "online",
                                                      "group"), cells, strict=True))
            elif len(cells) == 3 and cells[0].isdigit():
                groups.append((cells[1].split(", "), cells[2].split(", ")))
            elif line.startswith("your node"):
                mine = line
        m = SUMMARY.match(summary)
        assert m
        online, ngroups, tips = map(int, m.groups())
        return {"rows": rows, "groups": groups, "online": online, "ngroups": ngroups, "tips": tips, "mine": mine}

    def until(self, pred: Callable[[dict], bool], timeout: float = WAIT) -> dict:
        """Ask `class` until its roster satisfies `pred` (each answer waited for, not slept on)."""
        deadline = time.monotonic() + timeout
        while True:
            r = self.roster()
            if pred(r):
                return r
            if time.monotonic() > deadline:
                raise AssertionError(f"roster never satisfied the condition: {r}")
            with self.cond:  # let the class move on: wait for any new line or a tenth of a second
                self.cond.wait(0.1)

    def close(self) -> int:
        if self.proc.poll() is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.reader.join(10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        return self.proc.returncode
