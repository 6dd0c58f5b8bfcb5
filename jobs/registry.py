"""MLflow model registry: shipped weights -> registered model versions; alias `champion` = what runs tonight.

Registered models (one version per distinct set of weights):
    lakeocr-pipeline           the whole pipeline as a pyfunc (jobs/pyfunc_model.py), artifact `weights/`
    lakeocr-<weights name>     one per component (detector, script_id, recognizer_<script>, ...): the .pt
                               and its .json, tagged with the weights' sha256
A pipeline version is tagged with `weights_digest` (over every .pt's sha256 *and* its .json recipe, so a
changed threshold or crop margin is a new version too; bootstrap is idempotent: the same files register
nothing new), `component_versions` (stage -> first 12 hex of sha256, what the rows are stamped with) and
`component_model_versions` (stage -> registry version of the component model).

Roll-out is an alias move (`promote`): the job resolves `champion` once on the driver into a concrete
`ModelRef` and ships that version's weights to the executors (a broadcast), so executors never ask the
registry and never see "latest".
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from jobs.mlflow_log import tracking_uri
from udfs.ocr import ModelRef

PIPELINE_MODEL = "lakeocr-pipeline"
CHAMPION = "champion"
EXPERIMENT = "lakeocr-registry"


def component_model_name(weights_name: str) -> str:
    return f"lakeocr-{weights_name}"


# ---------------------------------------------------------------- shipped weights
def shipped_weights(weights_dir: str | Path) -> dict[str, str]:
    """name -> sha256 of every `<name>.pt` with its `<name>.json` in `weights_dir` (sorted by name)."""
    weights_dir = Path(weights_dir)
    found = {}
    for js in sorted(weights_dir.glob("*.json")):
        if not js.with_suffix(".pt").exists():
            continue
        sha = json.loads(js.read_text(encoding="utf-8")).get("sha256")
        if not sha:
            from models.weights import sha256_file
            sha = sha256_file(js.with_suffix(".pt"))
        found[js.stem] = sha
    if not found:
        raise FileNotFoundError(f"no shipped weights (<name>.pt + <name>.json) in {weights_dir}")
    return found


def weights_digest(weights_dir: str | Path) -> str:
    """One digest of the shipped weights and their recipes: the .json holds the .pt's sha256 and everything
    inference reads besides the tensors (thresholds, normalisation, crop margin), so both are covered."""
    weights_dir = Path(weights_dir)
    parts = [(name, sha, hashlib.sha256((weights_dir / f"{name}.json").read_bytes()).hexdigest())
             for name, sha in shipped_weights(weights_dir).items()]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


def component_versions(shas: dict[str, str]) -> dict[str, str]:
    """stage -> version as the predictors report it (first 12 hex digits of the weights' sha256)."""
    return {name: sha[:12] for name, sha in shas.items()}


def mlflow_client():
    import mlflow
    from mlflow import MlflowClient

    mlflow.set_tracking_uri(tracking_uri())
    return MlflowClient(tracking_uri=tracking_uri(), registry_uri=tracking_uri())


def artifact_root(uri: str) -> str | None:
    """Where artifacts go for a local sqlite store: `mlruns/` next to the .db file (MLflow's own default is
    `./mlruns` of the working directory, which moves with it). None for a tracking server (it decides)."""
    if uri.startswith("sqlite:///"):
        return (Path(uri[len("sqlite:///"):]).resolve().parent / "mlruns").as_uri()
    return None


def use_experiment(client, name: str = EXPERIMENT) -> None:
    import mlflow

    if client.get_experiment_by_name(name) is None:
        client.create_experiment(name, artifact_location=artifact_root(tracking_uri()))
    mlflow.set_experiment(name)


def _ensure_registered(client, name: str, description: str) -> None:
    from mlflow.exceptions import MlflowException

    try:
        client.get_registered_model(name)
    except MlflowException:
        client.create_registered_model(name, description=description)


def find_version(digest: str, client=None) -> str | None:
    client = client or mlflow_client()
    try:
        versions = client.search_model_versions(f"name = '{PIPELINE_MODEL}'")
    except Exception:     # noqa: BLE001 - no such model yet
        return None
    for mv in versions:
        if mv.tags.get("weights_digest") == digest:
            return str(mv.version)
    return None


def _current_alias(client, alias: str) -> str | None:
    from mlflow.exceptions import MlflowException

    try:
        return str(client.get_model_version_by_alias(PIPELINE_MODEL, alias).version)
    except MlflowException:
        return None


PIP_REQUIREMENTS = ("torch==2.9.1", "numpy>=1.26,<3", "pandas>=2.2,<3", "pyarrow>=18", "pillow>=10.4",
                    "opencv-python-headless>=4.10,<5", "pypdfium2>=4.30")


def bootstrap(weights_dir: str | Path, alias: str = CHAMPION, log: Callable[[str], None] = print) -> ModelRef:
    """Register the weights in `weights_dir` (once) and point `alias` at them when the alias is unset.
    Returns the pipeline version these weights are registered as."""
    import mlflow

    with warnings.catch_warnings():     # MLflow asks for type hints on predict(); its input has bytes columns
        warnings.simplefilter("ignore", UserWarning)
        from jobs.pyfunc_model import LakeOcrPyfunc

    client = mlflow_client()
    shas = shipped_weights(weights_dir)
    digest = weights_digest(weights_dir)
    version = find_version(digest, client)
    if version is None:
        use_experiment(client)
        staging = Path(tempfile.mkdtemp(prefix="lakeocr-bootstrap-"))
        staged = staging / "weights"         # the artifact's name in the pyfunc model
        staged.mkdir()
        try:
            for name in shas:     # only the shipped files travel, nothing else in the folder
                for ext in (".pt", ".json"):
                    shutil.copy2(Path(weights_dir) / f"{name}{ext}", staged / f"{name}{ext}")
            with mlflow.start_run(run_name=f"bootstrap-{digest[:8]}") as run:
                comp_versions = {}
                for name, sha in shas.items():
                    mlflow.log_artifact(str(staged / f"{name}.pt"), artifact_path=f"components/{name}")
                    mlflow.log_artifact(str(staged / f"{name}.json"), artifact_path=f"components/{name}")
                    model = component_model_name(name)
                    _ensure_registered(client, model, f"lakeocr weights `{name}` (.pt + .json recipe)")
                    mv = client.create_model_version(model, source=f"{run.info.artifact_uri}/components/{name}",
                                                     run_id=run.info.run_id, tags={"sha256": sha})
                    comp_versions[name] = str(mv.version)
                with warnings.catch_warnings():       # the type-hint advice again, at logging time
                    warnings.simplefilter("ignore", UserWarning)
                    info = mlflow.pyfunc.log_model(
                        name="pipeline", python_model=LakeOcrPyfunc(), artifacts={"weights": str(staged)},
                        pip_requirements=list(PIP_REQUIREMENTS), registered_model_name=PIPELINE_MODEL)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        version = str(info.registered_model_version)
        tags = {"weights_digest": digest, "component_versions": json.dumps(component_versions(shas)),
                "component_model_versions": json.dumps(comp_versions)}
        for key, value in tags.items():
            client.set_model_version_tag(PIPELINE_MODEL, version, key, value)
        log(f"[registry] registered {PIPELINE_MODEL} v{version} ({len(shas)} weights, digest {digest[:12]})")
    else:
        log(f"[registry] weights already registered as {PIPELINE_MODEL} v{version}")
    if _current_alias(client, alias) is None:
        promote(version, alias, log=log)
    return ref_for_version(version, client)


def ref_for_version(version: str, client=None) -> ModelRef:
    client = client or mlflow_client()
    mv = client.get_model_version(PIPELINE_MODEL, str(version))
    comps = json.loads(mv.tags.get("component_versions", "{}"))
    return ModelRef(PIPELINE_MODEL, str(mv.version), tuple(sorted(comps.items())))


def resolve(alias: str = CHAMPION) -> ModelRef:
    """The concrete pipeline version that `alias` points at (called once, on the driver)."""
    client = mlflow_client()
    version = _current_alias(client, alias)
    if version is None:
        raise LookupError(f"no {PIPELINE_MODEL} version has alias {alias!r}; run `lakeocr registry bootstrap`")
    return ref_for_version(version, client)


def promote(version: str, alias: str = CHAMPION, log: Callable[[str], None] = print) -> ModelRef:
    """Move `alias` to pipeline `version` (and the components' aliases to the versions it was built from)."""
    client = mlflow_client()
    mv = client.get_model_version(PIPELINE_MODEL, str(version))
    before = _current_alias(client, alias)
    client.set_registered_model_alias(PIPELINE_MODEL, alias, str(version))
    for name, comp_version in json.loads(mv.tags.get("component_model_versions", "{}")).items():
        client.set_registered_model_alias(component_model_name(name), alias, comp_version)
    log(f"[registry] {PIPELINE_MODEL}@{alias}: v{before or '-'} -> v{version}")
    return ref_for_version(version, client)


def list_versions() -> list[dict]:
    """Every pipeline version with its aliases and component versions, newest first."""
    client = mlflow_client()
    try:
        versions = client.search_model_versions(f"name = '{PIPELINE_MODEL}'")
    except Exception:     # noqa: BLE001
        return []
    versions = [client.get_model_version(PIPELINE_MODEL, mv.version) for mv in versions]   # search omits aliases
    rows = [{"version": str(mv.version), "aliases": list(mv.aliases), "created": mv.creation_timestamp,
             "components": json.loads(mv.tags.get("component_versions", "{}")),
             "digest": mv.tags.get("weights_digest", "")[:12]} for mv in versions]
    return sorted(rows, key=lambda r: int(r["version"]), reverse=True)


# ---------------------------------------------------------------- executors: weights from the driver
def download_weights(ref: ModelRef) -> dict[str, bytes]:
    """name -> bytes of the pipeline version's weights files (driver side)."""
    import mlflow

    local = Path(mlflow.artifacts.download_artifacts(
        artifact_uri=f"models:/{ref.name}/{ref.version}", tracking_uri=tracking_uri()))
    weights = next((p for p in (local / "artifacts" / "weights", local / "weights") if p.is_dir()), None)
    if weights is None:
        raise FileNotFoundError(f"{ref.name} v{ref.version} has no weights artifact under {local}")
    return {p.name: p.read_bytes() for p in sorted(weights.iterdir()) if p.suffix in (".pt", ".json")}


def _load_zoo(weights_dir: str, device: str, precision: str = "auto"):
    from models.zoo import load_pipeline

    return load_pipeline(weights_dir, device, precision=precision)


@dataclass(frozen=True)
class RegistrySource:
    """A pipeline source (udfs.ocr.PipelineSource) for one registered version. `files` is the weights
    (name -> bytes) or a Spark broadcast of them; `loader(weights_dir, device)` builds the pipeline."""
    ref: ModelRef
    files: object
    loader: Callable[[str, str, str], object] = field(default=_load_zoo)    # (weights dir, device, precision)

    def weights_dir(self) -> Path:
        """The weights written once per worker machine under the temp dir, keyed by version."""
        key = hashlib.sha256(repr(self.ref.key).encode()).hexdigest()[:12]
        target = Path(tempfile.gettempdir()) / "lakeocr-weights" / f"{self.ref.name}-v{self.ref.version}-{key}"
        if not target.exists():
            files = self.files.value if hasattr(self.files, "value") else self.files
            tmp = Path(tempfile.mkdtemp(prefix=".partial-", dir=target.parent if target.parent.exists()
                                        else _mkdir(target.parent)))
            for name, data in files.items():
                (tmp / name).write_bytes(data)
            try:
                os.replace(tmp, target)       # atomic: two workers racing both end with one full folder
            except OSError:
                shutil.rmtree(tmp, ignore_errors=True)
        return target

    def load(self, device: str, precision: str = "auto"):
        pipeline = self.loader(str(self.weights_dir()), device, precision)
        expected = dict(self.ref.component_versions)
        wrong = {k: v for k, v in getattr(pipeline, "versions", {}).items() if expected.get(k) != v}
        if wrong:
            raise ValueError(f"{self.ref.name} v{self.ref.version}: loaded stage versions {wrong} differ "
                             f"from the registered ones {expected}")
        return pipeline


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def registry_source(ref: ModelRef, spark=None,
                    loader: Callable[[str, str, str], object] = _load_zoo) -> RegistrySource:
    """Download `ref`'s weights on the driver; broadcast them when a Spark session is given."""
    files = download_weights(ref)
    payload = spark.sparkContext.broadcast(files) if spark is not None else files
    return RegistrySource(ref, payload, loader)
