"""`inspire bag sanitize-many`: many bags, one output folder, in parallel.

Each bag is one job in its own process (a local process pool, or Ray tasks with --ray), with its
own Anonymizer built from the config, so nothing is shared between jobs. A job writes its bag
atomically and then its report next to it: a report marks a finished bag, which is what --resume
skips; a bag whose run was cut short is continued from its journal. One bag failing does not
stop the others; the exit status tells.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, replace
from pathlib import Path

from .errors import BagError
from .journal import has_journal
from .sanitize import SanitizeOptions


@dataclass(frozen=True)
class BatchJob:
    input: Path
    output: Path
    report: Path


@dataclass(frozen=True)
class BatchSettings:
    """What every job needs to build its own Anonymizer (plain data: it crosses process borders)."""

    config: Path | None  # None: config/default.yaml
    overrides: tuple[tuple[str, object], ...]  # dotted config keys, e.g. (("seed", 3),)
    options: SanitizeOptions


@dataclass(frozen=True)
class BatchResult:
    input: str
    output: str
    status: str  # done | skipped (already done, --resume) | failed
    frames: int = 0
    frames_failed: int = 0
    seconds: float = 0.0
    error: str | None = None


def plan_jobs(inputs: list[Path], out_dir: Path, force: bool, resume: bool) -> list[BatchJob]:
    """One job per input, output named like the input inside `out_dir`. Refuses clashing names,
    and existing outputs unless --force (redo) or --resume (skip finished ones)."""
    jobs, names = [], {}
    for src in inputs:
        name = src.name
        if name in names:
            raise BagError(f"inputs {names[name]} and {src} would both be written to {out_dir / name}: rename one")
        names[name] = src
        jobs.append(BatchJob(src, out_dir / name, out_dir / f"{name}.report.json"))
    if not force and not resume:
        existing = [str(j.output) for j in jobs if j.output.exists()]
        if existing:
            raise FileExistsError(
                f"output(s) exist: {', '.join(existing[:3])}{' ...' if len(existing) > 3 else ''}; "
                "pass --resume to skip finished bags or --force to redo them"
            )
    return jobs


def is_done(job: BatchJob) -> bool:
    return job.report.is_file() and job.output.exists()


def run_job(job: BatchJob, settings: BatchSettings) -> BatchResult:
    """Sanitize one bag and write its report; any failure becomes a failed result."""
    from ..pipeline import Anonymizer  # in the worker: each process loads its own models
    from .sanitize import sanitize

    started = time.perf_counter()
    try:
        anonymizer = Anonymizer.from_config(settings.config, preset="thorough", **dict(settings.overrides))
        # An output without its report is a bag whose run was cut short after the commit (or a
        # --force redo): plan_jobs already refused every other existing output.
        # --resume continues a bag whose run was cut short and left its journal; other bags start afresh.
        options = replace(
            settings.options,
            progress=False,
            force=settings.options.force or job.output.exists(),
            resume=settings.options.resume and has_journal(job.output),
        )
        report = sanitize(job.input, job.output, anonymizer, options)
        report.write(job.report)
    except Exception as e:  # noqa: BLE001 - one bad bag must not stop the batch
        return BatchResult(str(job.input), str(job.output), "failed", seconds=time.perf_counter() - started,
                           error=f"{type(e).__name__}: {e}")  # fmt: skip
    return BatchResult(str(job.input), str(job.output), "done", report.frames_in, report.frames_failed, report.seconds)


def sanitize_many(
    jobs: list[BatchJob],
    settings: BatchSettings,
    workers: int = 2,
    resume: bool = False,
    ray_address: str | None = None,
    on_result: Callable[[BatchResult], None] | None = None,
    ray_gpus: float = 0.0,
) -> list[BatchResult]:
    """Run the jobs (skipping finished ones with `resume`); results in input order.
    `ray_gpus`: GPUs Ray reserves for each bag (fractions share a GPU between bags)."""
    results: dict[BatchJob, BatchResult] = {}
    todo = []
    for job in jobs:
        if resume and is_done(job):
            results[job] = BatchResult(str(job.input), str(job.output), "skipped")
            if on_result:
                on_result(results[job])
        else:
            todo.append(job)
    if todo:
        if ray_address:
            job_out = _ray_jobs(todo, settings, ray_address, ray_gpus)
        else:
            job_out = _local_jobs(todo, settings, workers)
        for job, result in job_out:
            results[job] = result
            if on_result:
                on_result(result)
    return [results[j] for j in jobs]


def ray_available() -> bool:
    try:
        import ray  # noqa: F401
    except ImportError:
        return False
    return True


def _local_jobs(jobs: list[BatchJob], settings: BatchSettings, workers: int) -> Iterator[tuple[BatchJob, BatchResult]]:
    if workers <= 1 or len(jobs) == 1:
        for job in jobs:
            yield job, run_job(job, settings)
        return
    # spawn, not fork: a forked child would inherit the parent's threads and library state
    # (onnxruntime, OpenCV) in whatever condition they were.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=context) as pool:
        futures = {pool.submit(run_job, job, settings): job for job in jobs}
        for future in as_completed(futures):
            yield futures[future], future.result()


# Where models and shared data are found: workers get the driver's values, so a model folder on
# shared storage (INSPIRE_MODEL_DIR) is what every node loads.
RAY_ENV_VARS = ("INSPIRE_MODEL_DIR", "INSPIRE_SHARED")


def _ray_jobs(
    jobs: list[BatchJob], settings: BatchSettings, address: str, gpus: float = 0.0
) -> Iterator[tuple[BatchJob, BatchResult]]:
    """Ray tasks on the cluster at `address` ("auto", "ray://host:10001", or "local" to start
    one here). Inputs and outputs must be on storage every node can reach."""
    import ray

    env = {k: os.environ[k] for k in RAY_ENV_VARS if k in os.environ}
    ray.init(
        address=None if address == "local" else address,
        ignore_reinit_error=True,
        runtime_env={"env_vars": env} if env else None,
    )
    task = ray.remote(num_gpus=gpus)(run_job) if gpus else ray.remote(run_job)
    pending = {task.remote(job, settings): job for job in jobs}
    while pending:
        ready, _ = ray.wait(list(pending), num_returns=1)
        for ref in ready:
            yield pending.pop(ref), ray.get(ref)
