"""Event kinds a lesson may explain the first time they happen.

The six of the lesson design first, then the lab's other narration kinds.
A narrated kind may stand for more than one a lesson can name (a reorg also
means a block went stale): `lesson_events` maps them.
"""

from __future__ import annotations

from collections.abc import Iterable

EVENT_KINDS = frozenset(
    """
    reorg block-rejected stale fork peer-punished tx-returned
    mined forged block-accepted orphan tx-accepted tx-rejected tx-orphan
    tx-evicted reject-received link-up link-down peer-connected
    peer-disconnected partition heal cut node-added node-stopped node-started
    frame-dropped headers-asked headers
    withhold withheld tx-withheld published strategy move eclipse eclipse-ended
    """.split()
)

# narrated event kinds -> the event kinds lessons attach explanations to
_ALSO = {"reorg": ("reorg", "stale"), "fork": ("fork", "stale"), "partition": ("partition", "link-down")}


def lesson_events(kinds: Iterable[str]) -> list[str]:
    """The kinds a lesson sees for narrated kinds, in order, each once."""
    out: list[str] = []
    for k in kinds:
        for alias in _ALSO.get(k, (k,)):
            if alias not in out:
                out.append(alias)
    return out
