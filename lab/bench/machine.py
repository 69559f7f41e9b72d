"""What the figures were measured on, and the helpers for child processes."""

from __future__ import annotations

import os
import platform
import resource
import sys
from typing import Any


def machine() -> dict[str, Any]:
    """Cores, Python, the ecdsa backend, the platform and the load average at start."""
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


def child_env() -> dict[str, str]:
    """The environment for a child `python -m lab ...`: this lab's source tree first on the path."""
    import lab
    root = os.path.dirname(os.path.dirname(os.path.abspath(lab.__file__)))
    return dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))


def peak_rss_mb() -> float:
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


def raise_fd_limit(needed: int) -> None:
    """Let this process open `needed` more files (sockets), up to the hard limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = soft + needed if hard == resource.RLIM_INFINITY else min(hard, soft + needed)
    if want > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
        except (ValueError, OSError):  # a sandbox may refuse: the figure will say what failed
            pass
