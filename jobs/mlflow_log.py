"""MLflow seam for training runs: models/ trains through a `log(step, metrics)` callback; this module
turns that callback into an MLflow run (local sqlite store by default, any tracking URI works the same)."""
from __future__ import annotations

import contextlib
import os
from pathlib import Path

DEFAULT_TRACKING_URI = f"sqlite:///{Path(__file__).resolve().parent.parent / 'mlflow.db'}"


def tracking_uri() -> str:
    return os.environ.get("MLFLOW_TRACKING_URI", DEFAULT_TRACKING_URI)


@contextlib.contextmanager
def training_run(experiment: str, params: dict, run_name: str | None = None):
    """Yield (log_fn, run) where log_fn(step, metrics) logs metrics at that step."""
    import mlflow

    mlflow.set_tracking_uri(tracking_uri())
    mlflow.set_experiment(experiment)
    with mlflow.start_run(run_name=run_name) as run:
        mlflow.log_params({k: (v if isinstance(v, (int, float, str, bool)) else str(v)) for k, v in params.items()})

        def log(step: int, metrics: dict[str, float]) -> None:
            mlflow.log_metrics({k: float(v) for k, v in metrics.items()}, step=step)

        yield log, run
