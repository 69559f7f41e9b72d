"""The `grade` figure: `lab grade` on a class's worth of submissions of a 5-step lesson."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from lab.bench.drive import now
from lab.bench.table import Sample

LESSON = "partition"  # lesson 7: five steps
CLASS_SIZE = 30


def grade(quick: bool, runs: int) -> list[Sample]:
    """Replay 30 submissions (each the reference route, one per learner) and compare each one."""
    from lab.commands.grading_cli import Replayer, replay_async
    from lab.lessons import grading
    from lab.lessons.submission import Submission, TypedCommand, write_submission

    replayer = Replayer()
    lesson = replayer.lesson(LESSON)
    route = [line for step in lesson.steps for line in step.solution]
    steps, digest = asyncio.run(replay_async(lesson, lesson.start.seed, route))
    if len(steps) != len(lesson.steps):
        raise RuntimeError(f"the reference route of lesson {LESSON} reaches steps {steps} only")
    size = 3 if quick else CLASS_SIZE
    out = []
    with tempfile.TemporaryDirectory() as folder:
        for i in range(size):
            s = Submission(LESSON, lesson.start.seed, tuple(TypedCommand(0, line) for line in route), steps, digest,
                           learner=f"learner{i:02d}")
            write_submission(Path(folder) / f"learner{i:02d}.json", s)
        for _ in range(runs):
            t0 = now()
            rows = grading.grade([folder], replayer.replay, replayer.reference_commands)
            dt = now() - t0
            if len(rows) != size or any(r.problems for r in rows):
                raise RuntimeError(f"grading the class found problems: {[r.problems for r in rows if r.problems]}")
            out.append({"value": dt})
    return out
