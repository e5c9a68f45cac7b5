"""A study: the search space, the surrogate settings and every trial, in one SQLite file
or in a PostgreSQL database shared by many machines (:mod:`npopt.storage`).

``ask`` suggests new trials (the suggestion itself lives in :mod:`npopt.suggest` and is
computed outside the write lock), ``tell`` records their outcome, and
:func:`npopt.runner.run` is nothing but a loop over the two. Each state change is one
committed transaction, so a process killed at any moment loses no finished evaluation and
re-running the same command continues the study.

Trials left ``running`` by a process that died stay so until :meth:`Study.mark_interrupted`
or the next :meth:`Study.ask` marks them ``failed`` with reason ``"interrupted"`` (a process
on this host by its pid, one on another host by its missed heartbeats).
Only trials whose asking process is known to be gone are touched, so several processes can
share one study; trials asked with ``detached=True`` (handed to another program) are left
alone. Interrupted trials do not count towards a budget, and their points may be suggested
again.

torch is imported only when :meth:`Study.ask` suggests, so opening and reading a study is light.
"""

from __future__ import annotations

import math
import numbers
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import npopt
from npopt.errors import NpoptError, SpaceError, StudyError, TrialError
from npopt.outcomes import Outcomes
from npopt.space import Space, check_direction
from npopt.storage import Storage, locate, process_alive, storage_for, this_process
from npopt.storage.base import damaged_meta, damaged_trial
from npopt.trial import INTERRUPTED, Trial, TrialState, counts_towards_budget

#: Default seconds between a running trial's heartbeats (:meth:`Study.heartbeat`).
HEARTBEAT_S = 60.0


class Study:
    """An optimisation study, in a SQLite file or a PostgreSQL database. Use :meth:`create`, :meth:`open`
    or :meth:`open_or_create`; close it with :meth:`close` or a ``with`` block."""

    def __init__(self, storage: Storage) -> None:
        meta = storage.meta()
        self._storage = storage
        #: The study file (a Path), or for a PostgreSQL study its URL without the password.
        self.path: Path | str = storage.path
        try:
            self.space: Space = Space.from_dict(meta["space"])
            self.direction: str = check_direction(meta["direction"])
            #: The objectives and constraints (:mod:`npopt.outcomes`): one objective in
            #: :attr:`direction` unless the study declared more.
            self.outcomes: Outcomes = Outcomes.from_meta(meta)
            self.surrogate_name: str = meta["surrogate"]
            self.seed: int = meta["seed"]
            #: The acquisition rule: "thompson" (Thompson sampling, the default) or "logei".
            self.acquisition: str = meta.get("acquisition", "thompson")
            if self.surrogate_name not in _surrogate_names() or not isinstance(self.seed, int):
                raise ValueError(f"surrogate {self.surrogate_name!r:.40}, seed {self.seed!r:.40}")
            if self.acquisition not in _rules():
                raise ValueError(f"acquisition {self.acquisition!r:.40}")
        except (NpoptError, KeyError, TypeError, ValueError) as exc:
            storage.close()
            detail = exc.message if isinstance(exc, NpoptError) else f"{type(exc).__name__}: {exc}"
            raise damaged_meta(storage.path, detail[:120]) from None
        #: When the study was created (ISO, UTC), as its file or database records it.
        self.created_at: str | None = meta.get("created_at")
        #: The NP's prior (a shipped name or a checkpoint path), or None: the shipped one for the space.
        self.prior: str | None = meta.get("prior")
        #: Seconds between the heartbeats of a trial this process evaluates (:meth:`heartbeat`),
        #: or None: trials asked get no heartbeat and count as alive on other hosts. ``run``
        #: sets it (default :data:`HEARTBEAT_S`) and beats while it evaluates.
        self.heartbeat_interval: float | None = None
        self._surrogate = None
        self._outcome_models: list | None = None

    # ------------------------------------------------------------ opening

    @classmethod
    def create(
        cls, path: str | Path, space: Space | Mapping, direction: str = "minimize",
        surrogate: str = "np", seed: int = 0, prior: str | Path | None = None, acquisition: str | None = None,
        outcomes: Outcomes | None = None,
    ) -> Study:
        """Create a new study file (``prior``: the NP's prior, a shipped name or a ``.pt``
        from ``npopt train``; default: the shipped prior for the space; ``acquisition``:
        ``"thompson"``, the default, or ``"logei"``, the yardstick; ``outcomes``: several
        objectives and/or constraints, :meth:`Outcomes.declare <npopt.outcomes.Outcomes.declare>`,
        whose first objective's direction replaces ``direction``).

        Raises:
            StudyError: ``path`` already holds a study (or other data).
            SpaceError / NoPriorError: the space or the surrogate cannot be used.
        """
        return cls._create(study_location(path), space, direction, surrogate, seed, exist_ok=False, prior=prior,
                           acquisition=acquisition, outcomes=outcomes)

    @classmethod
    def open(cls, path: str | Path) -> Study:
        """Open an existing study file (StudyError naming the path if it is not one)."""
        location = study_location(path)
        return cls(_storage_class(location).open(location))

    @classmethod
    def open_or_create(
        cls, path: str | Path, space: Space | Mapping | None = None, direction: str | None = None,
        surrogate: str | None = None, seed: int | None = None, prior: str | Path | None = None,
        acquisition: str | None = None, outcomes: Outcomes | None = None,
    ) -> Study:
        """Open the study at ``path``, or create it if there is none.

        Arguments left ``None`` take the stored values (or the defaults, minimize / np / 0,
        for a new study). Given arguments must match what is stored.

        Raises:
            StudyError: a given argument differs from the stored study (no silent mixing),
                or there is no study and no ``space`` to create one.
        """
        if space is None:  # an existing study: only the prior is checked (the others are ignored, as before)
            study, given = cls.open(path), (None, None, None, None, prior, acquisition, outcomes)
        else:
            study = cls._create(
                study_location(path), space, direction or "minimize", surrogate or "np", 0 if seed is None else seed,
                exist_ok=True, prior=prior, acquisition=acquisition, outcomes=outcomes,
            )
            given = (space, direction, surrogate, seed, prior, acquisition, outcomes)
        try:
            study._check_same(*given)
        except StudyError:
            study.close()
            raise
        return study

    @classmethod
    def _create(cls, path: Path, space, direction, surrogate, seed, exist_ok: bool, prior=None,
                acquisition=None, outcomes=None) -> Study:
        from npopt.surrogates import check_acquisition, make_surrogate

        space = Space(space)
        direction = check_direction(direction)
        outcomes = Outcomes.single(direction) if outcomes is None or outcomes.plain else outcomes
        if not outcomes.plain:
            direction = outcomes.direction
            if acquisition == "logei":
                raise StudyError("--acquisition logei optimises one unconstrained objective; a study with "
                                 "constraints or several objectives uses Thompson sampling (leave it unset)")
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise StudyError(f"seed must be an integer, not {seed!r}")
        prior = _prior_setting(prior, surrogate, space)
        if acquisition is not None:
            check_acquisition(acquisition, surrogate)
        if not exist_ok or isinstance(path, str) or not (path.is_file() and path.stat().st_size > 0):
            # fail before writing anything (e.g. no NP prior)
            make_surrogate(surrogate, space.dim, choices=space.choices, **_prior_kwargs(prior))
        meta = {
            "space": space.to_dict(), "direction": direction, "surrogate": surrogate, "seed": seed,
            "npopt_version": npopt.__version__, **outcomes.to_meta(),
        }
        if prior is not None:
            meta["prior"] = prior
        if acquisition not in (None, "thompson"):  # older files have no key: Thompson sampling
            meta["acquisition"] = acquisition
        storage, created = _storage_class(path).create(path, meta)  # waits for a concurrent creator to commit
        if not created and not exist_ok:
            storage.close()
            raise StudyError(f"{storage.path} already holds a study; open it instead, or choose another path")
        return cls(storage)

    def _check_same(self, space, direction, surrogate, seed, prior=None, acquisition=None, outcomes=None) -> None:
        """StudyError if a given setting differs from the stored one."""
        if space is not None and Space(space) != self.space:
            raise StudyError(
                f"{self.path} holds a study over a different space ({self.space.difference(Space(space))}); "
                "use another study path, or the space the study was created with"
            )
        if outcomes is not None and not (outcomes.plain and self.outcomes.plain) and outcomes != self.outcomes:
            raise StudyError(
                f"{self.path} was created to {self.outcomes.describe()}, not to {outcomes.describe()}; "
                "a study's objectives and constraints are fixed at creation: use another study path"
            )
        if outcomes is not None and not outcomes.plain:
            direction = None  # the declaration's, checked above
        for what, given, stored in (
            ("direction", None if direction is None else check_direction(direction), self.direction),
            ("surrogate", surrogate, self.surrogate_name),
            ("seed", seed, self.seed),
            ("prior", None if prior is None else _prior_setting(prior, self.surrogate_name, self.space), self.prior),
            ("acquisition", acquisition, self.acquisition),
        ):
            if given is not None and given != stored:
                raise StudyError(
                    f"{self.path} was created with {what} {stored!r}, not {given!r}; "
                    f"leave {what} unset to continue it, or use another study path"
                )

    def close(self) -> None:
        self._storage.close()

    def __enter__(self) -> Study:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Study({str(self.path)!r}, surrogate={self.surrogate_name!r}, seed={self.seed})"

    # ------------------------------------------------------------ reading

    @property
    def trials(self) -> list[Trial]:
        """Every trial, in number order (read fresh from the file).

        Raises:
            StudyError: a trial's row was edited so that it no longer fits the study.
        """
        trials = [Trial.from_row(r) for r in self._storage.trials()]
        for t in trials:
            try:
                self.space.validate(t.params)
            except SpaceError as exc:
                raise damaged_trial(self.path, t.number, exc.message) from None
        return trials

    @property
    def best(self) -> Trial | None:
        """The feasible complete trial with the best value (the earliest on ties), or ``None``.

        Raises:
            StudyError: the study has several objectives (see :attr:`best_trials`)."""
        return self.outcomes.best(self.trials)

    @property
    def best_trials(self) -> list[Trial]:
        """The Pareto front of the feasible complete trials (several objectives), or the best
        trial alone (one objective); empty when no trial is complete and feasible."""
        return self.outcomes.pareto_front(self.trials)

    @property
    def surrogate(self):
        """The :class:`~npopt.surrogates.base.Surrogate` used by :meth:`ask` (built once)."""
        if self._surrogate is None:
            from npopt.surrogates import make_surrogate

            if self.prior is not None:  # the file may have been replaced since the study was made
                from npopt.neural.checkpoints import check_prior_space, prior_path

                check_prior_space(prior_path(self.prior), self.space)
            self._surrogate = make_surrogate(self.surrogate_name, self.space.dim, choices=self.space.choices,
                                             acquisition=self.acquisition, **_prior_kwargs(self.prior))
        return self._surrogate

    @property
    def outcome_models(self) -> list:
        """One surrogate per outcome (:attr:`outcomes`' names, objectives first), of the
        study's kind, for a study that declares constraints or several objectives; the
        first is :attr:`surrogate`."""
        if self._outcome_models is None:
            from npopt.surrogates import make_surrogate

            rest = [make_surrogate(self.surrogate_name, self.space.dim, choices=self.space.choices,
                                   **_prior_kwargs(self.prior)) for _ in self.outcomes.names[1:]]
            self._outcome_models = [self.surrogate, *rest]
        return self._outcome_models

    # ------------------------------------------------------------ ask / tell

    def ask(self, n: int = 1, *, budget: int | None = None, detached: bool = False) -> list[Trial]:
        """Suggest ``n`` new trials, committed as RUNNING before returning.

        Points of running trials (from any process sharing the file), of observed trials
        and of recently failed trials are not suggested again; points that round to the
        same parameters count as the same point. The suggestion (surrogate and Thompson
        sampling, :func:`npopt.suggest.suggest`) is computed from a snapshot of the trials
        without any lock, so other processes' ``tell`` and ``ask`` go on meanwhile; the
        write lock is held only to re-read the trials, redo the exclusion against what
        changed (:func:`npopt.suggest.settle`) and insert the new trials.

        Args:
            n: number of trials.
            budget: if given, create at most as many trials as keep the trials that count
                (all but interrupted ones) at or below ``budget``; may return fewer or none.
            detached: the trials are evaluated by another program, not this process, so
                :meth:`mark_interrupted` leaves them alone when this process exits.

        Returns:
            The new trials (``params`` in user units, fixed values included).
        """
        from npopt.suggest import settle, suggest

        if not isinstance(n, int) or n < 1:
            raise TrialError(f"n must be a positive integer, not {n!r}", code="bad_n")
        snapshot = self.trials
        remaining = None
        if budget is not None:
            remaining = budget - sum(map(counts_towards_budget, snapshot))  # these n included
            n = min(n, remaining)
            if n <= 0:
                return []
        models = self.surrogate if self.outcomes.plain else self.outcome_models
        suggestion = suggest(self.space, self.direction, models, snapshot, n, self.seed, remaining, self.outcomes)
        with self._storage.transaction() as conn:
            self._fail_stale(conn)
            trials = [Trial.from_row(r) for r in self._storage.trials(conn)]
            if budget is not None:  # others may have asked meanwhile
                n = min(n, budget - sum(map(counts_towards_budget, trials)))
                if n <= 0:
                    return []
            params = settle(self.space, suggestion, trials, n)
            owner = None if detached else this_process(self.heartbeat_interval)
            numbers = self._storage.insert_running(conn, params, owner)
            rows = [self._storage.trial(conn, number) for number in numbers]
        return [Trial.from_row(r) for r in rows]

    def tell(
        self, number: int, value: float | None = None, state: TrialState | str = TrialState.COMPLETE,
        reason: str | None = None, values: Mapping[str, float] | None = None,
    ) -> Trial:
        """Record the outcome of running trial ``number`` (from this or any other process).

        ``value`` is the number of a study with one objective and no constraints; ``values``
        has one number per declared objective and constraint (:attr:`outcomes`; for one
        objective that is not named, its key is ``value``).

        Raises:
            TrialError: ``unknown_trial``, ``already_finished``, ``bad_value`` (a complete
                trial needs a finite number, or one per outcome, naming the key) or ``bad_state``.
        """
        try:
            state = TrialState(state)
        except ValueError:
            state = None
        if state not in (TrialState.COMPLETE, TrialState.FAILED):
            raise TrialError("state must be 'complete' or 'failed'", code="bad_state")
        outcomes = None
        if state is TrialState.COMPLETE and (values is not None or not self.outcomes.plain):
            if values is None:
                raise TrialError(
                    f"this study records {', '.join(self.outcomes.names)} for each trial; tell all of them "
                    "as values, not one value", code="bad_value")
            if value is not None:
                raise TrialError("give value or values, not both", code="bad_value")
            checked = self.outcomes.check(values)
            value = self.outcomes.value_in(checked)
            outcomes = None if self.outcomes.plain else checked
        elif state is TrialState.COMPLETE:
            if not isinstance(value, numbers.Real) or isinstance(value, bool) or not math.isfinite(value):
                raise TrialError(
                    f"a complete trial needs a finite number as its value, not {value!r}; "
                    "tell it as failed instead",
                    code="bad_value",
                )
            value = float(value)
        else:
            value = None
        if reason is not None and not isinstance(reason, str):
            reason = str(reason)
        with self._storage.transaction() as conn:
            row = self._storage.trial(conn, number) if isinstance(number, int) else None
            if row is None:
                raise TrialError(f"the study has no trial number {number!r}", code="unknown_trial")
            if row["state"] != TrialState.RUNNING.value:
                raise TrialError(
                    f"trial {number} is already {row['state']}"
                    + (f" ({row['reason']})" if row["reason"] else ""),
                    code="already_finished",
                )
            self._storage.finish(conn, number, state.value, value, reason, outcomes)
            row = self._storage.trial(conn, number)
        return Trial.from_row(row)

    def mark_interrupted(self, *, all_running: bool = False) -> int:
        """Mark RUNNING trials whose asking process has died as FAILED (``"interrupted"``).

        Args:
            all_running: mark every RUNNING trial, detached ones and those of live
                processes included (use when you know nothing else is evaluating).

        Returns:
            How many trials were marked.
        """
        with self._storage.transaction() as conn:
            return self._fail_stale(conn, all_running)

    def _fail_stale(self, conn, all_running: bool = False) -> int:
        stale = [
            r["number"]
            for r in self._storage.trials(conn)
            if r["state"] == TrialState.RUNNING.value
            and (all_running or (r["owner"] is not None and not process_alive(r["owner"])))
        ]
        for number in stale:
            self._storage.finish(conn, number, TrialState.FAILED.value, None, INTERRUPTED)
        return len(stale)

    @contextmanager
    def heartbeat(self, number: int) -> Iterator[None]:
        """While the block runs, renew trial ``number``'s heartbeat every
        :attr:`heartbeat_interval` seconds from a thread with its own connection, so that
        workers on other hosts can tell this process is alive (and fail the trial if it dies)."""
        owner, location, stop = this_process(self.heartbeat_interval), self._storage.location, threading.Event()

        def beat() -> None:
            storage = None  # opened at the first beat: most evaluations end before it
            try:
                while not stop.wait(self.heartbeat_interval):
                    storage = storage or storage_for(location).open(location)
                    with storage.transaction() as conn:
                        storage.beat(conn, number, owner)
            except NpoptError:
                pass  # the tell after the evaluation reports a lost study
            finally:
                if storage is not None:
                    storage.close()

        if self.heartbeat_interval is None:
            yield
            return
        thread = threading.Thread(target=beat, name=f"npopt-heartbeat-{number}", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(timeout=5)  # a beat stuck on a lock must not hold up the run (a daemon thread)


def study_location(path: str | Path) -> str | Path:
    """A PostgreSQL URL stays a string (``Path`` would fold its ``//``); anything else is a file."""
    return locate(path)


def _storage_class(location: str | Path) -> type[Storage]:
    """:class:`~npopt.storage.SQLiteStorage` for a file, ``PostgresStorage`` for a URL."""
    return storage_for(location)


def _prior_setting(prior: str | Path | None, surrogate: str, space: Space) -> str | None:
    """What a study stores of ``--prior``: a shipped name as it is, a file as its absolute
    path (so that every process finds it); checked to exist and to serve ``space``."""
    if prior is None:
        return None
    from npopt.neural.checkpoints import SHIPPED_DIR, check_prior_space, prior_path

    if surrogate != "np":
        raise StudyError(f"--prior sets the Neural Process's prior; it needs --surrogate np, not {surrogate!r}")
    path = prior_path(str(prior))  # a bad name fails here, listing the shipped priors
    check_prior_space(path, space)
    shipped = path.parent == SHIPPED_DIR and path.stem == str(prior)
    return str(prior) if shipped else str(path.resolve())


def _prior_kwargs(prior: str | None) -> dict:
    return {} if prior is None else {"checkpoint": prior}


def _rules() -> tuple[str, ...]:
    from npopt.acquisition.options import RULES

    return RULES


def _surrogate_names() -> tuple[str, ...]:
    from npopt.surrogates import SURROGATES

    return SURROGATES
