"""The event log is bounded (issue 12): it drops its oldest records, and every count the lab reports stays
whole. With a tiny bound, a run keeps the same counts and narration as an untrimmed run of the same seed."""

from __future__ import annotations

from labtest import lab_session, run, run_ok

from lab import events as ev
from lab import params
from lab.chain.crypto import hash_hex
from lab.sched import Scheduler
from lab.world.log import EventLog

SCRIPT = [
    "mine A 3", "partition A,B | C,D", "mine A 2", "mine C 3", "run 10m", "heal", "run 1m",
    "forge A bad-pow", "forge B bad-pow", "mine B 2", "partition A | B,C,D", "mine A 1", "mine D 2",
    "heal", "run 1m", "forge C bad-pow", "mine C 1",
]


def test_a_tiny_log_drops_the_oldest_records_and_keeps_seq_absolute():
    log = EventLog(Scheduler(), limit=8)
    trims: list[int] = []
    log.before_trim.append(lambda: trims.append(log.dropped))
    for i in range(100):
        rec = log.append(ev.Reorg("A", bytes(32), i, (), (), ()) if i % 3 == 0 else ev.NodeStopped("B"))
        assert rec.seq == i
    assert log.next_seq == 100 and log.dropped == 100 - len(log)
    assert 8 <= len(log) <= 8 + log.chunk  # bounded: never more than the limit and one chunk
    assert [r.seq for r in log] == list(range(log.dropped, 100))
    assert [r.seq for r in log.since(95)] == [95, 96, 97, 98, 99]
    assert all(r.seq >= log.dropped for r in log.of(ev.Reorg))  # the per-type index is trimmed with it
    assert trims  # read models were told before each trim
    log.pinned = log.next_seq  # a command running: its records are kept whole
    for _ in range(50):
        log.append(ev.NodeStopped("C"))
    assert len(log.since(100)) == 50


async def _play(limit: int | None) -> tuple[list[str], dict[str, object]]:
    async with lab_session(nodes=4, difficulty=6, seed=7) as (lab, s):
        if limit is not None:
            lab.log.limit = limit
        texts = []
        for line in SCRIPT:
            out = await s.execute(line)
            texts.append(out.text)
        q = lab.queries
        facts = {
            "reorgs": q.reorg_counts, "rejections": q.rejection_count, "stale": sorted(q.stale_blocks()),
            "mined": sorted(q.mined_at), "share": [q.share(n) for n in lab.nodes],
            "first_seen": q.first_seen, "last_reorg": {n: q.last_reorg(n) for n in lab.nodes},
            "events": lab.log.next_seq, "dropped": lab.log.dropped, "held": len(lab.log),
        }
        log_text = (await run_ok(s, "log 1000")).text
        first = q.mined_events[0].block  # the oldest block: its records were dropped from the tiny log
        trace = (await run_ok(s, f"trace {hash_hex(first)[:16]}")).text
        facts["log_text"], facts["trace"] = log_text, trace
        return texts, facts


def test_a_run_with_a_tiny_log_keeps_every_count_and_the_narration():
    async def go():
        full_texts, full = await _play(None)
        tiny_texts, tiny = await _play(60)
        assert full["dropped"] == 0 and tiny["dropped"] > 0  # the tiny log did trim
        assert tiny["held"] <= 60 + 60 // 4 or tiny["held"] < full["held"]
        assert full["reorgs"] and any(full["reorgs"].values())  # the script makes reorgs and rejections
        assert full["rejections"] > 0
        for key in ("reorgs", "rejections", "stale", "mined", "share", "first_seen", "last_reorg", "events"):
            assert tiny[key] == full[key], key
        assert tiny_texts == full_texts  # every command's narration unchanged
        note = f"Older records were dropped: the log keeps the last {60:,}."
        assert note in tiny["log_text"] and note not in full["log_text"]
        assert tiny["trace"] == full["trace"]  # a block's history is kept by the read models

    run(go())


def test_the_default_bound_is_far_above_any_lesson():
    assert params.MAX_LOG_RECORDS >= 100_000
