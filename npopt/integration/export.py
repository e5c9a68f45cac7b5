"""An npopt study copied into an Optuna storage, so Optuna's tools (optuna-dashboard, its
visualisations) can read it: ``npopt export`` and ``npopt dashboard``.

Every trial keeps its number (as the user attribute ``npopt_number``; Optuna numbers its own
trials in the order they are added), its state (running, complete, failed), its params with
their Optuna distributions (float, int, log; categorical; a fixed parameter as a one-choice
categorical), its value, its failure reason (user attribute ``fail_reason``) and its start and
finish times. Exporting again adds new trials and finishes the ones that were running, never
duplicating one, so a follower (:func:`follow`) keeps a dashboard live.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from npopt.errors import ConfigError
from npopt.trial import Trial, TrialState

#: The user attribute that holds an exported trial's npopt number.
NUMBER_KEY = "npopt_number"
#: The user attribute that holds a failed trial's reason.
REASON_KEY = "fail_reason"


def _optuna():
    try:
        import optuna
    except ImportError:
        raise ConfigError("exporting to Optuna needs optuna: pip install 'npopt[optuna]'") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def optuna_storage(url: str):
    """An Optuna storage for ``url``: ``sqlite:///FILE``, ``postgresql://...`` (any SQLAlchemy
    URL Optuna takes), or a path to a journal file (Optuna's ``JournalFileBackend``)."""
    optuna = _optuna()
    if "://" in url:
        try:
            return optuna.storages.RDBStorage(url)
        except Exception as exc:  # SQLAlchemy's and the drivers' errors: one line
            from npopt.errors import first_line

            raise ConfigError(f"cannot open the Optuna storage {_redacted(url)}: {first_line(exc, 160)}") from None
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    path = Path(url)
    if path.is_dir():
        raise ConfigError(f"--to {url} is a folder; give a journal file path, sqlite:///FILE or a PostgreSQL URL")
    return JournalStorage(JournalFileBackend(str(path)))


def _redacted(url: str) -> str:
    from npopt.storage.postgres import redact

    return redact(url)


@dataclass
class Exported:
    """What one export did: trials added, finished (were running) and left as they were."""

    added: int = 0
    finished: int = 0
    unchanged: int = 0


def _time(stamp: str | None) -> datetime | None:
    return None if stamp is None else datetime.fromisoformat(stamp.replace("Z", "+00:00"))


class Exporter:
    """Copies one npopt study into one Optuna study (created on the first export)."""

    def __init__(self, study, url: str, name: str | None = None) -> None:
        optuna = _optuna()
        from npopt.integration.optuna import distributions

        self.study, self.optuna = study, optuna
        self.storage = optuna_storage(url)
        self.name = name or default_name(study)
        self.target = optuna.create_study(storage=self.storage, study_name=self.name, load_if_exists=True,
                                          direction="maximize" if study.direction == "maximize" else "minimize")
        from npopt.space import Fixed

        self.distributions = distributions(study.space)
        for key, param in study.space.params.items():  # a constant: a one-choice categorical
            if isinstance(param, Fixed):
                self.distributions[key] = optuna.distributions.CategoricalDistribution([param.value])

    def _states(self) -> dict[int, Any]:
        """npopt number -> the exported Optuna trial."""
        out = {}
        for t in self.target.get_trials(deepcopy=False):
            number = t.user_attrs.get(NUMBER_KEY)
            if isinstance(number, int):
                out[number] = t
        return out

    def export(self) -> Exported:
        """Add the npopt trials the Optuna study lacks and finish those it has as running."""
        optuna = self.optuna
        State = optuna.trial.TrialState
        done = Exported()
        exported = self._states()
        for trial in self.study.trials:
            old = exported.get(trial.number)
            state = _state(State, trial)
            if old is None:
                self.target.add_trial(self._frozen(trial, state))
                done.added += 1
            elif old.state == State.RUNNING and state != State.RUNNING:
                trial_id = old._trial_id
                if trial.reason:
                    self.storage.set_trial_user_attr(trial_id, REASON_KEY, trial.reason)
                self.storage.set_trial_state_values(trial_id, state, None if trial.value is None else [trial.value])
                done.finished += 1
            else:
                done.unchanged += 1
        return done

    def _frozen(self, trial: Trial, state):
        params = {k: v for k, v in trial.params.items() if k in self.distributions}
        user_attrs: dict[str, Any] = {NUMBER_KEY: trial.number}
        if trial.reason:
            user_attrs[REASON_KEY] = trial.reason
        finished = state != self.optuna.trial.TrialState.RUNNING
        return self.optuna.trial.FrozenTrial(
            number=0, state=state, value=trial.value if state == self.optuna.trial.TrialState.COMPLETE else None,
            datetime_start=_time(trial.started_at), datetime_complete=_time(trial.finished_at) if finished else None,
            params=params, distributions={k: self.distributions[k] for k in params}, user_attrs=user_attrs,
            system_attrs={}, intermediate_values={}, trial_id=0,
        )


def _state(State, trial: Trial):
    if trial.state is TrialState.COMPLETE:
        return State.COMPLETE
    if trial.state is TrialState.FAILED:
        return State.FAIL
    return State.RUNNING


def default_name(study) -> str:
    """The npopt study's name: a file's stem (``svc.study.db`` -> ``svc``), or PostgreSQL's ``?study=``."""
    from npopt.storage import is_url, parse

    path = str(study.path)
    if is_url(path):
        return parse(path)[1]
    name = Path(path).name
    for suffix in (".study.db", ".db"):
        if name.endswith(suffix):
            return name[: -len(suffix)] or name
    return Path(name).stem or name


def follow(exporter: Exporter, interval: float = 1.0, report: Callable[[Exported], None] | None = None,
           stop: Callable[[], bool] = lambda: False) -> None:
    """Export every ``interval`` seconds until ``stop()`` (or Ctrl-C in the caller)."""
    while not stop():
        done = exporter.export()
        if report is not None and (done.added or done.finished):
            report(done)
        time.sleep(interval)
