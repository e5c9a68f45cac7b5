"""Learning from past studies, on the studies' side: read them as tasks, then fine-tune.

:func:`fine_tune_on_studies` is ``npopt train --from-studies``: :func:`tasks_from_studies`
turns each study's complete trials into one task through :mod:`npopt.encoding` (unit cube,
minimised, standardised as at ask time), and :func:`npopt.neural.transfer.fine_tune` does
the training, which knows nothing of studies.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from npopt.encoding import minimised, standardise, unit
from npopt.errors import NpoptError, StudyError
from npopt.neural.transfer import MIN_TRIALS, StudyTask, TransferError, fine_tune
from npopt.space import Space
from npopt.study import Study
from npopt.trial import TrialState


def tasks_from_studies(paths: Sequence[str | Path]) -> tuple[Space, list[StudyTask], list[str]]:
    """The studies' shared space, their tasks, and warnings for the skipped ones.

    TransferError if a study cannot be opened or has another space than the first."""
    from npopt.storage.postgres import redact

    space, first, tasks, skipped = None, None, [], []
    for given in paths:
        path = redact(str(given))  # what messages show: never a PostgreSQL password
        try:
            study = Study.open(given)
        except (StudyError, NpoptError) as exc:
            raise TransferError(f"cannot read study {path}: {exc}") from None
        with study:
            if space is None:
                space, first = study.space, path
            elif study.space != space:
                raise TransferError(
                    f"{path} has another space than {first} ({space.difference(study.space)}); "
                    "fine-tune on studies that share one space"
                )
            trials = study.trials
            complete = [t for t in trials if t.state is TrialState.COMPLETE]
            if len(complete) < MIN_TRIALS:
                skipped.append(f"{path}: {len(complete)} complete trials (a task needs {MIN_TRIALS}); skipped")
                continue
            tasks.append(StudyTask(Path(str(path)).name, unit(space, complete),
                                   standardise(minimised(study.direction, complete)), len(complete), len(trials)))
    if not tasks:
        raise TransferError(
            f"none of the {len(paths)} studies has {MIN_TRIALS} or more complete trials; nothing to learn from"
        )
    return space, tasks, skipped


def fine_tune_on_studies(paths: Sequence[str | Path], out: Path, **kwargs) -> dict:
    """Fine-tune a prior on the studies in ``paths`` and write ``out`` (``kwargs``: those of
    :func:`npopt.neural.transfer.fine_tune`); returns the summary the checkpoint records.
    A study with too few complete trials is skipped with a warning."""
    space, tasks, skipped = tasks_from_studies(paths)
    return fine_tune(space, tasks, skipped, out, **kwargs)
