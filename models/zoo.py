"""Names -> builders: the one place that assembles the shipped pipeline from `models/weights/`.

Contract with the stage packages (each exposes a predictor with a classmethod
`from_weights(name, weights_dir, device, precision=...)` and a `.version` attribute = the first 12 hex digits of the
weights' sha256, so every output row can say which weights made it):
- models.detection.predictor.DetectionPredictor      weights "detector"
- models.script_id.predictor.ScriptPredictor          weights "script_id"
- models.recognition.predictor.RecognitionPredictor   weights "recognizer_<script>" or "recognizer"
- models.postocr.stages.default_stages()              list of Page -> Page stages
"""
from __future__ import annotations

from pathlib import Path

from models.pipeline import Pipeline
from models.weights import WEIGHTS_DIR


def _exists(name: str, weights_dir: Path) -> bool:
    return (weights_dir / f"{name}.pt").exists() and (weights_dir / f"{name}.json").exists()


def load_pipeline(weights_dir: str | Path = WEIGHTS_DIR, device: str = "cpu", with_postocr: bool = True,
                  detector=None, precision: str = "auto", reread: bool = False) -> Pipeline:
    """The shipped pipeline; `detector` replaces the shipped detector (e.g. GT boxes for an evaluation of the
    readers alone, models/peers/lakeocr.py). `precision` (models.precision) goes to every predictor; "int8"
    quantises the recognizers and leaves the convolutional detector and script id on "auto"; each predictor
    rejects a name it does not know (ValueError). `reread`: every recognizer reads its doubtful crops again,
    stretched (RecognitionPredictor.set_reread: more accurate on receipts, 2-2.4x the time of a real page)."""
    conv_precision = "auto" if precision == "int8" else precision
    weights_dir = Path(weights_dir)
    if detector is None:
        from models.detection.predictor import DetectionPredictor
        detector = DetectionPredictor.from_weights("detector", weights_dir, device, precision=conv_precision)
    versions = {"detector": getattr(detector, "version", type(detector).__name__)}
    script_id = None
    if _exists("script_id", weights_dir):
        from models.script_id.predictor import ScriptPredictor
        script_id = ScriptPredictor.from_weights("script_id", weights_dir, device, precision=conv_precision)
        versions["script_id"] = script_id.version
    recognizers = {}
    for path in sorted(weights_dir.glob("recognizer*.pt")):
        from models.recognition.predictor import RecognitionPredictor
        name = path.stem
        rec = RecognitionPredictor.from_weights(name, weights_dir, device, precision=precision)
        recognizers[name.split("_", 1)[1] if "_" in name else "*"] = rec
        versions[name] = rec.version
    stages = []
    if with_postocr:
        try:
            from models.postocr.stages import default_stages
            stages = default_stages()
        except ModuleNotFoundError:
            stages = []
    pipeline = Pipeline(detector=detector, script_id=script_id, recognizers=recognizers, stages=stages,
                        versions=versions)
    pipeline.set_reread(reread)
    return pipeline
