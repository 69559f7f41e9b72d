"""`lab bench`: measure this machine - how many nodes it runs, how fast blocks travel.

Every figure drives the lab the way a learner's commands do: real nodes on
real 127.0.0.1 sockets, the scheduler's virtual clock, real proof of work and
real ECDSA. Each figure runs several times; the table shows the median with
the min and max, next to its target on a 2-core machine and a pass/miss mark.

    lab bench                 the full run (a few minutes)
    lab bench --quick         a smoke run of a few seconds (sizes cut down:
                              CI runs it; its timings are not comparable)
    lab bench --only sync     one figure
    lab bench --json          one JSON object keyed by figure name, each with
                              median, min, max and unit, plus `machine`

Figures (see FIGURES for the exact sizes):

    start       process start to a ready 4-node lab: `python -m lab -c status`
    hashrate    the miner's double-SHA-256 per second on one core
    hop         wall time per hop of a block along a 50-node line, zero latency
    flood       wall time until a new block reached every node of a 100-node random-8 lab
    experiment  wall time of 1,000 auto-mined blocks on a 20-node random-4 lab (virtual time)
    sync        wall time for a fresh node to sync a 10,000-block chain
    sigs        signature verifications per second while 1,000 payments cross a
                10-node line; and ms per 100 transactions to connect the block
                that confirms them (signatures already verified: sig cache)
    scale       1,000 nodes, random 4: start, connect, agree on one block; peak memory
    keep        `save` and `load` of a 10,000-block lab; `back` on a 1,000-block lab
    responsive  event-loop stall p99 while 4 auto-miners run in live mode

Run as `python -m lab.bench scale-child N K` the module is the child process
the `scale` figure measures (its peak memory is that process's maxrss).
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Sample = dict[str, float]  # one run: the figure's value under "value", extras under their own keys


# -- the machine ------------------------------------------------------------------------
def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        cores = os.cpu_count() or 1
    try:
        import ecdsa
        from ecdsa import ellipticcurve
        backend = "gmpy2" if ellipticcurve.GMPY else "pure"
        ecdsa_version = ecdsa.__version__
    except ImportError:  # pragma: no cover - ecdsa is a dependency
        backend, ecdsa_version = "missing", ""
    return {
        "cores": cores,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "ecdsa": ecdsa_version,
        "ecdsa_backend": backend,
        "platform": f"{platform.system()} {platform.machine()}",
        "load": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,  # other work sharing the cores
    }


# -- helpers ------------------------------------------------------------------------------
def _now() -> float:
    return time.perf_counter()


def _tips(lab: Any) -> set[bytes]:
    return {n.state.chain.tip.hash for n in lab.online_nodes()}


class _AcceptWatch:
    """Wall time at which each node accepted a given block (a lab listener)."""

    def __init__(self, lab: Any) -> None:
        self.lab = lab
        self.block: bytes | None = None
        self.times: dict[str, float] = {}
        lab.listeners.append(self)

    def expect(self, block: bytes) -> None:
        self.block, self.times = block, {}

    def __call__(self, entry: Any) -> None:
        if entry.kind == "block-accepted" and entry.data.get("block") == self.block and entry.node:
            self.times.setdefault(entry.node, _now())


# -- the figures -----------------------------------------------------------------------------
def fig_start(quick: bool, runs: int) -> list[Sample]:
    """`python -m lab -c status` from process start to exit: a 4-node mesh, connected and quiet.

    Measured as an installed lab starts: with its bytecode cached. The warm-up run
    writes the cache even where PYTHONDONTWRITEBYTECODE is set (as in some
    sandboxes); without it every start would compile the lab again (~100 ms).
    """
    env = _child_env()
    env["NO_COLOR"] = "1"
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    cmd = [sys.executable, "-m", "lab", "-c", "status"]
    subprocess.run(cmd, capture_output=True, env=env, check=False)  # warm the disk cache and write .pyc files
    out = []
    for _ in range(runs):
        t0 = _now()
        r = subprocess.run(cmd, capture_output=True, env=env, check=False)
        dt = _now() - t0
        if r.returncode != 0:
            raise RuntimeError(f"`lab -c status` exited {r.returncode}: {r.stderr.decode(errors='replace')[-300:]}")
        out.append({"value": dt * 1e3})
    return out


def fig_hashrate(quick: bool, runs: int) -> list[Sample]:
    """Miner.search at a target it never meets: pure double-SHA-256 with the midstate trick."""
    from dataclasses import replace

    from lab.chain import pow
    from lab.chain.consensus import Consensus
    from lab.chain.crypto import PrivateKey
    from lab.chain.miner import Miner
    from lab.chain.node_state import NodeState
    from lab.lab import LAB_EPOCH

    state = NodeState("A", PrivateKey.derive(1, "A"), Consensus(), lambda: LAB_EPOCH)
    template = replace(state.block_template(), bits=pow.bits_for_zero_bits(200))
    nonces = 200_000 if quick else 2_000_000
    out = []
    for _ in range(runs):
        miner = Miner(template)
        t0 = _now()
        found = miner.search(nonces)
        dt = _now() - t0
        assert found is None
        out.append({"value": miner.hashes_done / dt / 1e6})
    return out


async def _propagation(lab: Any, runs: int, hops: int, rotate: bool) -> list[Sample]:
    """Mine a block (not timed), then time until the last other node accepted it."""
    watch = _AcceptWatch(lab)
    names = list(lab.nodes)
    out = []
    for r in range(runs + 1):  # the first block warms up the code paths and is not counted
        miner = names[r % len(names)] if rotate else names[0]
        block = (await lab.mine(miner))[0]
        watch.expect(block.hash)
        t0 = _now()
        await lab.settle()
        if _tips(lab) != {block.hash} or len(watch.times) != len(names) - 1:
            raise RuntimeError(f"the block reached {len(watch.times)} of {len(names) - 1} nodes")
        last = max(watch.times.values()) - t0
        if r:
            out.append({"value": last / hops})
    return out


async def _hop(quick: bool, runs: int) -> list[Sample]:
    from lab.lab import Lab
    n = 10 if quick else 50
    lab = await Lab.create(n, "line", seed=1, latency_ms=0, jitter=0)
    try:
        return [{"value": s["value"] * 1e6} for s in await _propagation(lab, runs, n - 1, rotate=False)]
    finally:
        await lab.close()


async def _flood(quick: bool, runs: int) -> list[Sample]:
    from lab.lab import Lab
    n, k = (20, 4) if quick else (100, 8)
    lab = await Lab.create(n, "random", k, seed=1)
    try:
        return [{"value": s["value"] * 1e3} for s in await _propagation(lab, runs, 1, rotate=True)]
    finally:
        await lab.close()


EXPERIMENT_DIFFICULTY = 12  # 4,096 tries a block: the proof of work is ~3 ms of each block's cost


async def _experiment(quick: bool, runs: int) -> list[Sample]:
    from lab.lab import Lab
    from lab.sched import SECOND
    n, k, blocks = (5, 2, 20) if quick else (20, 4, 1_000)
    out = []
    for r in range(runs):
        lab = await Lab.create(n, "random", k, seed=1 + r, difficulty=EXPERIMENT_DIFFICULTY)
        try:
            t0 = _now()
            lab.set_autominer(True)
            while len(lab.mined_at) < blocks:
                await lab.run_for(600 * SECOND)
            lab.set_autominer(False)
            await lab.settle()
            dt = _now() - t0
            if len(_tips(lab)) != 1:
                raise RuntimeError("the nodes did not agree after the experiment")
            out.append({"value": dt})
        finally:
            await lab.close()
    return out


async def _sync(quick: bool, runs: int) -> list[Sample]:
    """A's chain is built once (not timed); each run adds a fresh node that syncs it, then stops it."""
    from lab.lab import Lab
    from lab.sched import SECOND
    blocks = 200 if quick else 10_000
    lab = await Lab.create(["A"], "mesh", seed=1, difficulty=1)
    try:
        a = lab.nodes["A"]
        for _ in range(blocks):
            await lab.mine("A")
            await lab.run_for(600 * SECOND)
        lab.log.clear()
        out = []
        for _ in range(runs):
            t0 = _now()
            node = await lab.add_node()
            await lab.settle()
            dt = _now() - t0
            if node.state.chain.tip.hash != a.state.chain.tip.hash:
                raise RuntimeError(f"{node.name} stopped at height {node.state.chain.tip.height} of {blocks}")
            await lab.stop_node(node.name)
            out.append({"value": dt})
        return out
    finally:
        await lab.close()


async def _keep(quick: bool, runs: int) -> list[Sample]:
    """`save` and `load` of a 10,000-block 2-node lab, and `back` on a 1,000-block one (built once, not timed).

    `load` and `back` rebuild the lab by replaying its commands (lab/commands/saving.py),
    so they cost about what the commands cost the first time.
    """
    import tempfile
    from pathlib import Path

    from lab.commands.session import LabConfig, Session
    big, small = (200, 50) if quick else (10_000, 1_000)

    async def built(blocks: int) -> Session:
        s = await Session(LabConfig(nodes=2, difficulty=1, latency_ms=5)).start()
        for _ in range(blocks // 1000):
            await s.execute("mine A 1000")
        if blocks % 1000:
            await s.execute(f"mine A {blocks % 1000}")
        return s

    async def timed(s: Session, line: str) -> float:
        t0 = _now()
        out = await s.execute(line)
        if not out.ok:
            raise RuntimeError(f"`{line}` failed: {out.text}")
        return _now() - t0

    out = []
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.lab"
        s = await built(big)
        try:
            for _ in range(runs):
                save = await timed(s, f"save {path}")
                load = await timed(s, f"load {path}")
                out.append({"value": save, "load": load})
        finally:
            await s.close()
        s = await built(small)
        try:
            for sample in out:
                await s.execute("mine B")
                sample["back"] = await timed(s, "back") * 1000
        finally:
            await s.close()
    return out


async def _sigs(quick: bool, runs: int) -> list[Sample]:
    """`send A B 0.01` N times on a 10-node line (signed, accepted, relayed node by node), then A mines them."""
    from lab.lab import Lab
    from lab.params import COIN, COINBASE_MATURITY
    n, txs = (3, 30) if quick else (10, 1_000)
    out: list[Sample] = []
    for r in range(runs):
        lab = await Lab.create(n, "line", seed=1 + r)
        try:
            names = list(lab.nodes)
            await lab.mine("A", COINBASE_MATURITY + 2)
            await lab.settle()
            connect: list[float] = []
            for node in lab.nodes.values():
                _time_block_connect(node.state, connect)
            misses0 = sum(nd.state.sigcache.misses for nd in lab.nodes.values())
            t0 = _now()
            for _ in range(txs):
                await lab.send("A", names[-1], COIN // 100)
            await lab.settle()
            dt = _now() - t0
            verified = sum(nd.state.sigcache.misses for nd in lab.nodes.values()) - misses0
            if any(len(nd.state.mempool) != txs for nd in lab.nodes.values()):
                raise RuntimeError("not every node holds every transaction")
            block = (await lab.mine("A"))[0]
            await lab.settle()
            if _tips(lab) != {block.hash} or len(block.txs) != txs + 1:
                raise RuntimeError("the block did not confirm every transaction on every node")
            out.append({"value": verified / dt, "connect": statistics.median(connect)})
        finally:
            await lab.close()
    return out


def _time_block_connect(state: Any, sink: list[float]) -> None:
    """Record ms per 100 transactions of each multi-transaction block this node processes (instrumentation only)."""
    inner = state.process_block

    def timed(block: Any, **kwargs: Any) -> Any:
        t0 = _now()
        try:
            return inner(block, **kwargs)
        finally:
            if len(block.txs) > 1:
                sink.append((_now() - t0) * 1e3 * 100 / (len(block.txs) - 1))

    state.process_block = timed


def fig_scale(quick: bool, runs: int) -> list[Sample]:
    n, k = (30, 4) if quick else (1_000, 4)
    out = []
    for _ in range(runs):
        r = subprocess.run([sys.executable, "-m", "lab.bench", "scale-child", str(n), str(k)],
                           capture_output=True, text=True, check=False, env=_child_env())
        if r.returncode != 0:
            raise RuntimeError(f"scale child exited {r.returncode}: {r.stderr[-500:]}")
        got = json.loads(r.stdout.strip().splitlines()[-1])
        if not got["agree"]:
            raise RuntimeError(f"{n} nodes did not agree on one block")
        out.append({"value": got["seconds"], "memory": got["maxrss_mb"]})
    return out


def _child_env() -> dict[str, str]:
    import lab
    root = os.path.dirname(os.path.dirname(os.path.abspath(lab.__file__)))
    return dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))


async def _scale_child(n: int, k: int) -> dict[str, Any]:
    from lab.lab import Lab
    t0 = _now()
    lab = await Lab.create(n, "random", k, seed=1)
    block = (await lab.mine(next(iter(lab.nodes))))[0]
    await lab.settle()
    dt = _now() - t0
    agree = _tips(lab) == {block.hash}
    links = len(lab.edges)
    await lab.close()
    return {"seconds": dt, "maxrss_mb": _peak_rss_mb(), "agree": agree, "links": links}


def _peak_rss_mb() -> float:
    """This process's peak resident memory.

    On Linux getrusage's maxrss survives exec: a child forked from a bench process
    that has grown to 250 MB reports at least that. VmHWM belongs to the process's
    own address space, so it is read there; elsewhere maxrss (bytes on macOS).
    """
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


async def _responsive(quick: bool, runs: int) -> list[Sample]:
    """The REPL's situation: `autominer on; speed 10000; mode live`, and a ticker measuring loop lag."""
    import lab.commands.builtin  # noqa: F401  (registers the commands)
    from lab.commands.session import LabConfig, Session
    seconds = 0.5 if quick else 5.0
    period = 0.002
    out = []
    for r in range(runs):
        session = Session(LabConfig(nodes=4, seed=1 + r))
        await session.start()
        try:
            for line in ("autominer on", "speed 10000", "mode live"):
                outcome = await session.execute(line)
                if not outcome.ok:
                    raise RuntimeError(f"`{line}` failed: {outcome.text}")
            lags: list[float] = []
            mined0 = len(session.lab.mined_at)
            end = _now() + seconds
            while _now() < end:
                t0 = _now()
                await asyncio.sleep(period)
                lags.append(max(0.0, _now() - t0 - period))
            mined = len(session.lab.mined_at) - mined0
            await session.execute("autominer off")
            if mined == 0 and not quick:
                raise RuntimeError("the auto-miners found no block: nothing was measured")
            lags.sort()
            p99 = lags[min(len(lags) - 1, int(0.99 * len(lags)))]
            out.append({"value": p99 * 1e3, "blocks": float(mined)})
        finally:
            await session.close()
    return out


def _in_loop(fn: Callable[[bool, int], Any]) -> Callable[[bool, int], list[Sample]]:
    def run(quick: bool, runs: int) -> list[Sample]:
        return asyncio.run(fn(quick, runs))
    return run


# -- the table of figures --------------------------------------------------------------------
@dataclass
class Part:
    """One reported quantity of a figure (the figure itself, or an extra like peak memory)."""

    key: str  # "value" or the extra's key in a Sample
    unit: str
    target: float | None = None
    better: str = ""  # "<=" or ">=" (or "" when only reported)
    label: str = ""  # table label for an extra

    def meets(self, x: float) -> bool | None:
        if self.target is None:
            return None
        return x <= self.target if self.better == "<=" else x >= self.target


@dataclass
class Figure:
    name: str
    what: str
    measure: Callable[[bool, int], list[Sample]]
    runs: int  # full runs (quick: 1)
    parts: list[Part] = field(default_factory=list)


FIGURES: list[Figure] = [
    Figure("start", "process start to a ready 4-node lab (lab -c status)", fig_start, 7,
           [Part("value", "ms", 250, "<=")]),
    Figure("hashrate", "miner double-SHA-256 per second, one core", fig_hashrate, 5,
           [Part("value", "M/s", 1.2, ">=")]),
    Figure("hop", "wall time per hop, block along a 50-node line, zero latency", _in_loop(_hop), 7,
           [Part("value", "us", 150, "<=")]),
    Figure("flood", "a new block reaches every node, 100-node random-8 lab", _in_loop(_flood), 7,
           [Part("value", "ms", 100, "<=")]),
    Figure("experiment", f"1,000 auto-mined blocks, 20-node random-4, difficulty {EXPERIMENT_DIFFICULTY}",
           _in_loop(_experiment), 3, [Part("value", "s", 20, "<=")]),
    Figure("sync", "a fresh node syncs a 10,000-block chain", _in_loop(_sync), 3,
           [Part("value", "s", 10, "<=")]),
    Figure("sigs", "1,000 signed txs relayed through a 10-node line, then mined", _in_loop(_sigs), 3,
           [Part("value", "verifications/s", 1000, ">="),
            Part("connect", "ms per 100 tx", 2, "<=", "block of seen txs connects")]),
    Figure("keep", "save a 10,000-block lab; load it; back on a 1,000-block lab", _in_loop(_keep), 3,
           [Part("value", "s", 1, "<=", "save, 10,000 blocks"), Part("load", "s", 1, "<=", "load, 10,000 blocks (replay)"),
            Part("back", "ms", 300, "<=", "back, 1,000 blocks (replay)")]),
    Figure("scale", "1,000 nodes random 4: start, connect, agree on one block", fig_scale, 3,
           [Part("value", "s"), Part("memory", "MB", 300, "<=", "peak memory of the lab process (RSS high-water mark)")]),
    Figure("responsive", "event-loop stall p99, 4 auto-miners in live mode (speed 10000)",
           _in_loop(_responsive), 3, [Part("value", "ms", 20, "<=")]),
]
BY_NAME = {f.name: f for f in FIGURES}


def summarize(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def run_figure(fig: Figure, quick: bool, runs: int) -> dict[str, Any]:
    """The figure's JSON entry: median/min/max/unit (+ target and pass), extras nested by key."""
    samples = fig.measure(quick, runs)
    entry: dict[str, Any] = {}
    for part in fig.parts:
        values = [s[part.key] for s in samples]
        d: dict[str, Any] = {**summarize(values), "unit": part.unit}
        d["target"] = f"{part.better} {part.target:g} {part.unit}" if part.target is not None else None
        d["pass"] = None if quick else part.meets(d["median"])  # None: no verdict (quick, or only reported)
        d["runs"] = len(values)
        if part.key == "value":
            entry.update(d)
            entry["what"] = fig.what
        else:
            entry[part.key] = d
    return entry


# -- output ---------------------------------------------------------------------------------------
def _fmt(x: float) -> str:
    if x >= 1000:
        return f"{x:,.0f}"
    if x >= 100:
        return f"{x:.0f}"
    if x >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def render_table(results: dict[str, Any], quick: bool) -> str:
    m = results["machine"]
    head = (f"lab bench on {m['cores']} core{'s' if m['cores'] != 1 else ''}, {m['implementation']} {m['python']}, "
            f"ecdsa {m['ecdsa']} ({m['ecdsa_backend']}), {m['platform']}"
            + (f", load {m['load']:g} at start" if m.get("load") is not None else "")
            + ("  [--quick: small sizes, one run; timings not comparable to the targets]" if quick else ""))
    rows = [("figure", "median", "min", "max", "unit", "target", "", "what")]
    for fig in FIGURES:
        e = results.get(fig.name)
        if e is None:
            continue
        if "error" in e:
            rows.append((fig.name, "-", "-", "-", "", "", "ERROR", e["error"]))
            continue
        for part in fig.parts:
            d = e if part.key == "value" else e[part.key]
            unit = "µs" if d["unit"] == "us" else d["unit"]
            target = f"{part.better} {part.target:g}" if part.target is not None else "reported"
            mark = {True: "pass", False: "MISS", None: "-" if quick or part.target is None else ""}[d.get("pass")]
            name = fig.name if part.key == "value" else "  " + fig.name
            what = fig.what if part.key == "value" else part.label
            rows.append((name, _fmt(d["median"]), _fmt(d["min"]), _fmt(d["max"]), unit, target, mark, what))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    right = {1, 2, 3}
    lines = [head, ""]
    for i, r in enumerate(rows):
        cells = [c.rjust(w) if j in right and i else c.ljust(w) for j, (c, w) in enumerate(zip(r, widths, strict=True))]
        lines.append("  ".join(cells).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    runs = sorted({(e.get("runs")) for k, e in results.items() if k != "machine" and isinstance(e, dict) and "runs" in e})
    lines.append("")
    lines.append(f"median of {'/'.join(str(r) for r in runs)} runs per figure; targets are for a 2-core machine")
    return "\n".join(lines)


def main(as_json: bool = False, quick: bool = False, only: str | None = None, runs: int | None = None) -> int:
    """Run the figures; print the table (or JSON). 0 when every figure ran, 1 if one failed, 2 on bad usage."""
    if only is not None:
        names = [x.strip().lower() for x in only.split(",") if x.strip()]
        unknown = [x for x in names if x not in BY_NAME]
        if unknown:
            print(f"lab bench: no figure named {', '.join(unknown)}; figures: {', '.join(BY_NAME)}", file=sys.stderr)
            return 2
        figures = [BY_NAME[x] for x in names]
    else:
        figures = FIGURES
    results: dict[str, Any] = {"machine": machine()}
    failed = False
    for fig in figures:
        n = runs or (1 if quick else fig.runs)
        if not as_json:
            print(f"measuring {fig.name} ({n} run{'s' if n != 1 else ''}) ...", file=sys.stderr, flush=True)
        t0 = _now()
        try:
            results[fig.name] = run_figure(fig, quick, n)
        except Exception as e:  # one broken figure must not hide the others
            failed = True
            results[fig.name] = {"error": f"{type(e).__name__}: {e}"}
        if isinstance(results[fig.name], dict):
            results[fig.name]["elapsed_s"] = round(_now() - t0, 3)  # how long measuring this figure took
    if as_json:
        print(json.dumps(results, indent=2))
    else:
        print(render_table(results, quick))
    return 1 if failed else 0


def _child(argv: list[str]) -> int:
    if len(argv) == 3 and argv[0] == "scale-child":
        n, k = int(argv[1]), int(argv[2])
        print(json.dumps(asyncio.run(_scale_child(n, k))))
        return 0
    print("usage: python -m lab.bench scale-child N K   (or: lab bench)", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1:]))
