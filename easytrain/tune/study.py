"""The Optuna study: storage, sampler and pruner from the `tune:` section, and the trial budget.

The budget is the study's, not one process's: `trials: 20` means 20 trials in the study however
many workers and machines share it, and a resumed study runs only what is missing. A trial counts
once it has a result (complete, pruned, or failed with an error of its own). A trial cut off by a
crash or Ctrl-C has none: it is retried with the same parameters (a new trial number), so nothing
is lost and nothing is counted twice.
"""

from __future__ import annotations

import itertools
import os
import random
import socket
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from easytrain.config.sampled import yaml_value
from easytrain.config.tune import Distribution, TuneConfig
from easytrain.errors import RecipeError, RunFailed

if TYPE_CHECKING:
    import optuna

EXTRA = "pip install 'easytrain[tune]'"
HEARTBEAT_S, GRACE_S = 60, 180  # shared storage: a trial silent for 3 minutes is taken as lost
MAX_RETRIES = 2  # a trial that keeps killing its worker is not retried for ever


def import_optuna() -> Any:
    """Optuna, quiet (easytrain prints its own lines), or an error that names the extra."""
    try:
        import optuna
    except ImportError:
        raise RunFailed(f"easytrain tune needs Optuna: {EXTRA}") from None
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    warnings.filterwarnings("ignore", category=FutureWarning, module="optuna")
    return optuna


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def masked(url: str) -> str:
    """A storage URL fit to print or save: the password replaced by ***."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url


def open_storage(url: str) -> optuna.storages.BaseStorage:
    optuna = import_optuna()
    local = url.startswith("sqlite")
    try:
        if local:  # several processes on one file: wait for the lock instead of failing
            return optuna.storages.RDBStorage(url, engine_kwargs={"connect_args": {"timeout": 120}})
        return optuna.storages.RDBStorage(
            url,
            engine_kwargs={"pool_pre_ping": True},
            heartbeat_interval=HEARTBEAT_S,
            grace_period=GRACE_S,
            heartbeat_stale_trial_callback=_retry(),
        )
    except ImportError as exc:  # a database driver that is not installed
        raise RunFailed(
            f"--storage {masked(url)}: {exc} (for PostgreSQL: pip install 'psycopg[binary]')"
        ) from None
    except Exception as exc:  # sqlalchemy's errors: a wrong URL, a server that is not there …
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise RunFailed(
            f"--storage {masked(url)}: cannot open the study storage: {reason}"
        ) from None


def _retry() -> Any:
    from optuna.storages import RetryHeartbeatStaleTrialCallback

    return RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRIES)


def direction(config: TuneConfig, registry: Any) -> str:
    from easytrain.metrics.monitor import monitor_mode

    if config.direction != "auto":
        return config.direction
    return "maximize" if monitor_mode(config.metric, "auto", registry) == "max" else "minimize"


def make_sampler(config: TuneConfig, seed: int) -> optuna.samplers.BaseSampler:
    optuna = import_optuna()
    if config.sampler in ("random", "grid"):  # grid: every trial's values come from the queue
        return optuna.samplers.RandomSampler(seed=seed)
    # constant_liar: trials running in parallel are assumed poor, so workers spread out
    return optuna.samplers.TPESampler(
        seed=seed, n_startup_trials=config.startup_trials, constant_liar=True
    )


def make_pruner(config: TuneConfig, epochs: int) -> optuna.pruners.BasePruner:
    optuna = import_optuna()
    if config.pruner == "median":
        return optuna.pruners.MedianPruner(
            n_startup_trials=config.startup_trials, n_warmup_steps=config.warmup_epochs + 1
        )
    if config.pruner == "hyperband":
        low = min(max(config.warmup_epochs, 1), max(epochs, 1))
        return optuna.pruners.HyperbandPruner(min_resource=low, max_resource=max(epochs, 1))
    return optuna.pruners.NopPruner()


def grid_size(config: TuneConfig) -> int | None:
    if config.sampler != "grid":
        return None
    size = 1
    for distribution in config.space.values():
        size *= len(distribution.grid())
    return size


def queue_grid(study: optuna.Study, config: TuneConfig, seed: int, total: int) -> int:
    """Queue the grid points no trial has taken yet, up to the budget; how many were queued.

    Workers take queued trials one at a time (Optuna claims each atomically), so however many
    processes and machines share the study, no point runs twice. With a budget below the grid's
    size, the points are a seeded random subset.
    """
    keys = list(config.space)
    points = list(itertools.product(*(config.space[key].grid() for key in keys)))
    if total < len(points):
        random.Random(seed).shuffle(points)
    trials = study.get_trials(deepcopy=False)
    taken = {_point(t.params, keys) for t in trials if not lost(t)}
    wanted = total - tally(study).counted
    queued = 0
    for point in points:
        if queued >= wanted:
            break
        params = {
            key: label(config.space[key], value) for key, value in zip(keys, point, strict=True)
        }
        if _point(params, keys) not in taken:
            study.enqueue_trial(params)
            queued += 1
    return queued


def _point(params: dict[str, Any], keys: list[str]) -> tuple[Any, ...]:
    return tuple(round(v, 9) if isinstance(v, float) else v for v in (params.get(k) for k in keys))


def label(distribution: Distribution, value: Any) -> Any:
    """What Optuna stores for a choice: the value itself, or its YAML text for lists and maps
    (Optuna keeps only numbers, text, booleans and null)."""
    if distribution.choice is None or all(_scalar(v) for v in distribution.choice):
        return value
    return yaml_value(value)


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, bool | int | float | str)


def suggest(trial: optuna.Trial, space: dict[str, Distribution]) -> dict[str, Any]:
    """One value per key of the space, as the recipe takes it."""
    params: dict[str, Any] = {}
    for key, d in space.items():
        if d.choice is not None:
            labels = [label(d, v) for v in d.choice]
            params[key] = d.choice[labels.index(trial.suggest_categorical(key, labels))]
        elif d.int is not None:
            params[key] = trial.suggest_int(key, d.int[0], d.int[1], step=round(d.step or 1))
        else:
            low, high = d.bounds
            log = d.loguniform is not None
            params[key] = trial.suggest_float(key, low, high, log=log, step=d.step)
    return params


def decode(params: dict[str, Any], space: dict[str, Distribution]) -> dict[str, Any]:
    """A finished trial's stored params as recipe values (choices back from their labels)."""
    values: dict[str, Any] = {}
    for key, value in params.items():
        d = space.get(key)
        if d is not None and d.choice is not None:
            labels = [label(d, v) for v in d.choice]
            value = d.choice[labels.index(value)] if value in labels else value
        values[key] = value
    return values


@dataclass(frozen=True)
class Tally:
    done: int  # complete, pruned, or failed with an error of its own
    running: int
    waiting: int  # queued: retries of lost trials, grid points
    lost: int  # cut off by a crash or Ctrl-C; retried

    @property
    def taken(self) -> int:
        """Trials with a result or a worker: what the budget has spent."""
        return self.done + self.running

    @property
    def counted(self) -> int:
        """Spent or queued."""
        return self.taken + self.waiting


def lost(trial: optuna.trial.FrozenTrial) -> bool:
    return trial.state.name == "FAIL" and "error" not in trial.user_attrs


def tally(study: optuna.Study) -> Tally:
    trials = study.get_trials(deepcopy=False)
    states = [t.state.name for t in trials]
    return Tally(
        done=sum(s in ("COMPLETE", "PRUNED") for s in states)
        + sum(s == "FAIL" and not lost(t) for s, t in zip(states, trials, strict=True)),
        running=states.count("RUNNING"),
        waiting=states.count("WAITING"),
        lost=sum(lost(t) for t in trials),
    )


def recover(study: optuna.Study, storage: Any, own_storage: bool) -> list[int]:
    """Requeue the trials a crash or Ctrl-C cut off; the numbers of those requeued.

    A trial still marked running is taken as lost when its worker was a process on this machine
    that is gone, or, in a study only this folder uses, always (nobody else can be running it).
    On shared storage, other machines' lost trials are found by their missing heartbeat.
    """
    optuna = import_optuna()
    host = socket.gethostname()
    study_id = storage.get_study_id_from_name(study.study_name)
    for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        worker = str(trial.user_attrs.get("worker", ""))
        on_host, _, pid = worker.partition(":")
        gone = own_storage or (on_host == host and pid.isdigit() and not _alive(int(pid)))
        if gone:
            trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, trial.number)
            storage.set_trial_state_values(trial_id, optuna.trial.TrialState.FAIL)
    trials = study.get_trials(deepcopy=False)
    retried = {n for t in trials for n in t.system_attrs.get("retry_history", [])}
    requeued = []
    for trial in trials:
        if lost(trial) and trial.number not in retried:
            before = len(study.get_trials(deepcopy=False))
            _retry()(study, trial)
            if len(study.get_trials(deepcopy=False)) > before:
                requeued.append(trial.number)
    return requeued


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def open_study(
    url: str, name: str, config: TuneConfig, registry: Any, *, create: bool, must_exist: bool
) -> tuple[optuna.Study, Any, bool]:
    """(study, storage, created). A study of that name is joined when it exists, unless `create`
    demands a new one; `must_exist` (--resume) refuses to start one."""
    optuna = import_optuna()
    storage = open_storage(url)
    exists = name in {s.study_name for s in storage.get_all_studies()}
    if must_exist and not exists:
        raise RecipeError(f"--resume: no study '{name}' in {masked(url)}")
    if create and exists:
        raise RecipeError(
            f"a study '{name}' already exists in {masked(url)}; pass --resume to continue it"
        )
    wanted = direction(config, registry)
    created = not exists
    if created:
        try:
            optuna.create_study(storage=storage, study_name=name, direction=wanted)
        except optuna.exceptions.DuplicatedStudyError:  # another machine created it just now
            created = False
    study = optuna.load_study(study_name=name, storage=storage)
    if study.direction.name.lower() != wanted:
        raise RecipeError(
            f"study '{name}' was created to {study.direction.name.lower()}, "
            f"but tune.metric {config.metric} with direction {config.direction} means {wanted}"
        )
    return study, storage, created
