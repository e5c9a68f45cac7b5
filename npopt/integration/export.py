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
#: The Optuna study's user attribute naming the npopt study it was exported from (its
#: creation time), so that two npopt studies never merge into one Optuna study.
SOURCE_KEY = "npopt_study"


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
            raise _failed(url, exc) from None
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    path = Path(url)
    if path.is_dir():
        raise ConfigError(f"--to {url} is a folder; give a journal file path, sqlite:///FILE or a PostgreSQL URL")
    if path.is_file() and path.open("rb").read(16) == b"SQLite format 3\x00":
        raise ConfigError(f"--to {url} is an SQLite database, not a journal file; write --to sqlite:///{url}")
    if not path.parent.is_dir():
        raise ConfigError(f"--to {url}: the folder {path.parent} does not exist; create it first")
    try:
        return JournalStorage(JournalFileBackend(str(path)))
    except Exception as exc:
        raise _failed(url, exc) from None


def _failed(url: str, exc: BaseException) -> ConfigError:
    from npopt.errors import first_line
    from npopt.storage.postgres import _scrub

    detail = _redacted(_scrub(first_line(exc, 160), url))
    return ConfigError(f"cannot use the Optuna storage {_redacted(url)}: {detail}")


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
    """An npopt time (UTC, ISO) as Optuna keeps its own: local time, without a zone."""
    if stamp is None:
        return None
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).astimezone().replace(tzinfo=None)


class Exporter:
    """Copies one npopt study into one Optuna study (created on the first export)."""

    def __init__(self, study, url: str, name: str | None = None) -> None:
        optuna = _optuna()
        from npopt.integration.optuna import distributions

        self.study, self.optuna = study, optuna
        if "://" not in url and not isinstance(study.path, str) and Path(url).resolve() == Path(study.path).resolve():
            raise ConfigError(f"--to {url} is the study itself; give another file")
        self.storage = optuna_storage(url)
        self.name = name or default_name(study)
        outcomes = study.outcomes
        directions = [d for _, d in outcomes.objectives]
        source = f"{default_name(study)} created {study.created_at}"
        try:
            self.target = optuna.create_study(storage=self.storage, study_name=self.name, load_if_exists=True,
                                              directions=directions)
            held = self.target.user_attrs.get(SOURCE_KEY)
            if held is None and not self.target.trials:
                self.target.set_user_attr(SOURCE_KEY, source)
                if not outcomes.plain:  # the dashboard labels each objective by its name
                    self.target.set_metric_names([n for n, _ in outcomes.objectives])
                held = source
        except Exception as exc:
            raise _failed(url, exc) from None
        if held != source or [d.name.lower() for d in self.target.directions] != directions:
            raise ConfigError(
                f"the Optuna study {self.name!r} in {_redacted(url)} holds another study's trials "
                f"({held or 'not exported by npopt'}); choose another --name"
            )
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
                for key, value in self._system_attrs(trial).items():
                    self.storage.set_trial_system_attr(trial_id, key, value)
                self.storage.set_trial_state_values(trial_id, state, self._values(trial))
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
            number=0, state=state, value=None, values=self._values(trial),
            datetime_start=_time(trial.started_at), datetime_complete=_time(trial.finished_at) if finished else None,
            params=params, distributions={k: self.distributions[k] for k in params}, user_attrs=user_attrs,
            system_attrs=self._system_attrs(trial), intermediate_values={}, trial_id=0,
        )

    def _values(self, trial: Trial) -> list[float] | None:
        """A complete trial's objective values in declared order (``None`` otherwise)."""
        if trial.state is not TrialState.COMPLETE:
            return None
        values = self.study.outcomes.values(trial)
        return [values[n] for n, _ in self.study.outcomes.objectives]

    def _system_attrs(self, trial: Trial) -> dict[str, Any]:
        """A complete trial's constraints where Optuna keeps them (feasible at most 0)."""
        outcomes = self.study.outcomes
        if trial.state is not TrialState.COMPLETE or not outcomes.constraints:
            return {}
        return {"constraints": list(outcomes.signed_constraints(outcomes.values(trial)))}


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
           stop: Callable[[], bool] = lambda: False, warn: Callable[[str], None] | None = None) -> None:
    """Export every ``interval`` seconds until ``stop()`` (or Ctrl-C in the caller). A pass
    that fails (a locked file, a dropped connection) is reported in one line to ``warn`` and
    tried again at the next one."""
    from npopt.errors import NpoptError, first_line

    while not stop():
        try:
            done = exporter.export()
        except Exception as exc:
            if warn is not None:
                message = exc.message if isinstance(exc, NpoptError) else first_line(exc, 160)
                warn(f"export failed, trying again: {_redacted(message)}")
        else:
            if report is not None and (done.added or done.finished):
                report(done)
        time.sleep(interval)
