"""`easytrain run --nproc-per-node N`: start N training processes through torch.distributed.run
(torchrun's elastic launcher), which also stops them all when one fails."""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass

from easytrain.errors import ExitCode


@dataclass(frozen=True)
class Launch:
    nproc_per_node: int
    nnodes: str = "1"
    node_rank: int = 0
    rdzv_endpoint: str | None = None
    rdzv_id: str | None = None

    def torchrun_args(self) -> list[str]:
        args = [
            "--nproc-per-node",
            str(self.nproc_per_node),
            "--nnodes",
            self.nnodes,
            "--node-rank",
            str(self.node_rank),
            "--max-restarts",
            "0",
        ]
        if self.rdzv_endpoint:
            args += [
                "--rdzv-backend",
                "c10d",
                "--rdzv-endpoint",
                self.rdzv_endpoint,
                "--rdzv-id",
                self.rdzv_id or "easytrain",
            ]
        else:
            args.append("--standalone")  # one machine: a free local port, no rendezvous server
        return args


def launch(settings: Launch, worker_args: list[str]) -> int:
    """Run `python -m easytrain WORKER_ARGS` in every process; the exit code of the first failure."""
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import parse_args, run

    # The launcher logs every child that exits non-zero as an error: a missed gate (exit 3) or
    # Ctrl-C (130) is no crash, and the process itself has said what happened.
    quiet = logging.getLogger("torch.distributed.elastic.multiprocessing.api")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)
    try:
        run(parse_args([*settings.torchrun_args(), "-m", "easytrain", *worker_args]))
    except ChildFailedError as exc:
        rank, failure = exc.get_first_failure()
        code = failure.exitcode if failure.exitcode in (1, 2, 3, 130) else int(ExitCode.RUN_FAILED)
        if code not in (ExitCode.GATE_FAILED, ExitCode.INTERRUPTED):
            print(
                f"error: training process {rank} failed (exit code {failure.exitcode}); "
                "the others were stopped",
                file=sys.stderr,
            )
        return code
    finally:
        quiet.setLevel(level)
    return 0
