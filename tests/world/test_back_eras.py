"""`back` across the commands that replace the lab: `reset`, `seed`, `lesson`, `load`, a lesson's `next` ...

A random program over a small alphabet that includes those commands: after
every command that changed the lab, `back` returns the exact `digest` and
`history` printed before it, and the command run again gives the same lab
as the first time; then the program goes on. `back N` spans several labs.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from labtest import run

from lab.commands.eras import ERAS_KEPT, Era
from lab.commands.session import LabConfig, Session

FAST = dict(difficulty=6, latency_ms=20)

ALPHABET = [
    "reset", "seed 7", "seed 1", "mine A", "mine A 4", "mine B 2", "send A B 1", "send B C 0.5", "partition A,B | C,D",
    "heal", "cut A -> C", "disconnect A B", "connect A B", "withhold B on", "withhold B off", "publish B",
    "autominer on 1m", "run 2m", "autominer off", "mode step", "step 2", "mode auto", "save {tmp}/x.lab",
    "load {tmp}/x.lab", "lesson 1", "next", "undo", "reset lesson",
]


@pytest.fixture(autouse=True)
def _state_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAB_STATE_DIR", str(tmp_path_factory.mktemp("state")))


async def say(s: Session, line: str) -> str:
    return (await s.execute(line)).text


def top_of(s: Session) -> Era | None:
    return s.eras[-1] if s.eras else None


async def looks(s: Session) -> tuple[str, str]:
    return await say(s, "digest"), await say(s, "history")


async def program(tmp: Path, seed: int, steps: int) -> int:
    """Run `steps` random lines; `back` after each one that changed the lab, then the line again."""
    rng = random.Random(seed)
    s = await Session(LabConfig(**FAST)).start()
    checked = crossed = 0
    try:
        await say(s, "mine A 4")
        for _ in range(steps):
            line = rng.choice(ALPHABET).format(tmp=tmp)
            before = await looks(s)
            rec, count, eras, top = s.recording, len(s.recording.entries), len(s.eras), top_of(s)
            out = await s.execute(line)
            assert not s.internal_errors, s.internal_errors[-1]
            replaced = top_of(s) is not top
            if not replaced and (s.recording is not rec or len(rec.entries) == count):
                # failed, changed nothing, or replaced the untouched lab the session began with: not counted
                assert s.recording is rec or not (count or eras), f"`{line}` replaced a lab that is not kept"
                continue
            after, clock = await say(s, "digest"), s.lab.sched.now
            back = await s.execute("back")
            assert back.ok, f"`back` after `{line}`: {back.text}"
            now = await looks(s)
            if replaced and eras == ERAS_KEPT:  # the oldest lab was dropped to keep the new one
                now, before = (now[0], now[1].splitlines()[:-1]), (before[0], before[1].splitlines()[:-1])
                eras -= 1
            assert now == before, f"`back` after `{line}`:\n{now}\n!=\n{before}"
            assert len(s.eras) == eras
            crossed += replaced
            again = await s.execute(line)
            assert again.ok == out.ok, f"`{line}` again after `back`: {again.text}"
            if not line.startswith("lesson"):  # a lesson resumes at the step the learner's progress file says
                assert await say(s, "digest") == after and s.lab.sched.now == clock, f"`{line}` again"
            checked += 1
    finally:
        await s.close()
    assert crossed >= 3, crossed
    return checked


def test_back_after_every_command_of_a_random_program_with_resets_returns_the_previous_digest(tmp_path):
    assert run(program(tmp_path, 15, 80)) >= 40


@pytest.mark.soak
@pytest.mark.parametrize("seed", range(6))
def test_back_after_every_command_of_long_random_programs(tmp_path, seed):
    assert run(program(tmp_path, 100 + seed, 150)) >= 60


def test_back_n_spans_several_labs_and_the_lab_it_returns_to_goes_on():
    async def story():
        s = await Session(LabConfig(**FAST)).start()
        try:
            await say(s, "mine A 2")
            first = await looks(s)
            await say(s, "reset")
            await say(s, "mine B; partition A,B | C,D")
            second = await looks(s)
            await say(s, "seed 7")
            await say(s, "mine C")
            assert "Before that: 2 earlier labs (`reset`, `seed 7`); `back` steps into them." in await say(s, "history")
            out = await s.execute("back 2")  # `mine C` and `seed 7`
            assert out.ok and out.text.startswith("Back to before `seed 7` and 1 later command")
            assert await looks(s) == second
            out = await s.execute("back 3")  # `partition`, `mine B`, `reset`
            assert out.ok and await looks(s) == first and not s.eras
            assert "Before that" not in first[1]
            mined = await s.execute("mine D")  # the record of the first lab goes on
            assert mined.ok and [e.line for e in s.recording.entries] == ["mine A 2", "mine D"]
            refused = await s.execute("back 3")
            assert not refused.ok and "only 2 commands of yours changed this lab" in refused.text
        finally:
            await s.close()

    run(story())


def test_back_after_load_returns_to_the_lab_before_it_and_the_lesson_with_it(tmp_path):
    async def story():
        s = await Session(LabConfig(**FAST)).start()
        try:
            await say(s, "mine A 2")
            assert (await s.execute(f"save {tmp_path / 'a.lab'}")).ok
            await say(s, "lesson forks")
            await say(s, "mine A")
            assert s.lesson is not None
            inside = await looks(s), s.lesson.index, s.lesson._history[s.lesson.index]
            assert (await s.execute(f"load {tmp_path / 'a.lab'}")).ok and s.lesson is None
            said = await say(s, "history")  # the saved lab's own command is not yours to take back one by one
            assert f"Command 1 came with `load {tmp_path / 'a.lab'}`: `back` takes it back with it." in said
            assert f"2 earlier labs (`lesson forks`, `load {tmp_path / 'a.lab'}`); `back` steps into them." in said
            out = await s.execute("back")
            assert out.ok and out.text.startswith(f"Back to before `load {tmp_path / 'a.lab'}`")
            assert s.lesson is not None and (await looks(s), s.lesson.index, s.lesson._history[s.lesson.index]) == inside
            assert s.show_time  # a lesson's narration carries times: that comes back too
        finally:
            await s.close()

    run(story())


def test_the_untouched_lab_a_session_began_with_is_not_kept():
    async def story():
        s = await Session(LabConfig(**FAST)).start()
        try:
            await say(s, "seed 7")  # what `back` would return to is `seed 1` away
            assert not s.eras and "Before that" not in await say(s, "history")
            out = await s.execute("back")
            assert not out.ok and "no command of yours has changed this lab since it started" in out.text
            await say(s, "seed 8")  # the seed-7 lab was not the session's first: it is kept
            assert [era.line for era in s.eras] == ["seed 8"]
            assert "Before that: 1 earlier lab (`seed 8`); `back` steps into it." in await say(s, "history")
        finally:
            await s.close()

    run(story())


def test_only_the_last_labs_are_kept():
    async def story():
        s = await Session(LabConfig(**FAST)).start()
        try:
            for k in range(ERAS_KEPT + 3):
                await say(s, f"seed {k + 2}")
            assert len(s.eras) == ERAS_KEPT
            out = await s.execute(f"back {ERAS_KEPT + 1}")
            assert not out.ok and f"only {ERAS_KEPT} commands of yours can be taken back" in out.text
            assert f"`back {ERAS_KEPT}`" in out.text
            assert (await s.execute(f"back {ERAS_KEPT}")).ok and s.config.seed == 4 and not s.eras
        finally:
            await s.close()

    run(story())


def test_back_after_a_lessons_next_undo_and_reset_returns_to_the_lab_and_step_before_them():
    async def story():
        s = await Session(LabConfig(**FAST)).start()
        try:
            await say(s, "lesson 1")
            await say(s, "nodes")
            await say(s, "disconnect A B")  # step 1 wants a block mined: not yet
            for word in ("next", "undo", "reset"):
                assert s.lesson is not None
                before = await looks(s), s.lesson.index, [list(h) for h in s.lesson._history]
                said = await s.execute(word)
                assert said.ok and s.recording.since == len(s.recording.entries), said.text
                out = await s.execute("back")
                assert out.ok and out.text.startswith(f"Back to before `{word}`"), out.text
                assert (await looks(s), s.lesson.index, [list(h) for h in s.lesson._history]) == before
        finally:
            await s.close()

    run(story())
