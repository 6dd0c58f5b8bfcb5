"""The whole OCR pipeline as an MLflow pyfunc: `mlflow.pyfunc.load_model("models:/lakeocr-pipeline@champion")`
then `.predict(pd.DataFrame({"path": [...], "content": [bytes, ...]}))` -> PAGE_ROW rows (udfs.schema).

The model's artifact `weights` is a copy of the shipped weights folder (`models/weights/*.pt|json`); the
nightly job reads the same artifact, so the registry version *is* the weights that made a row.
"""
from __future__ import annotations

import mlflow.pyfunc


class LakeOcrPyfunc(mlflow.pyfunc.PythonModel):
    """Loads `models.zoo.load_pipeline(artifacts['weights'])` once; predicts with udfs.ocr.ocr_frame."""

    def load_context(self, context) -> None:
        from models.zoo import load_pipeline
        from udfs.ocr import ModelRef, table_pipeline

        self.pipeline = table_pipeline(load_pipeline(context.artifacts["weights"], device="cpu"))
        self.ref = ModelRef("lakeocr-pipeline", "pyfunc", tuple(sorted(self.pipeline.versions.items())))

    def predict(self, context, model_input, params=None):
        from udfs.ocr import ocr_frame

        return ocr_frame(model_input, self.pipeline, self.ref)
