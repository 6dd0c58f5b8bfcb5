"""Evaluation: metric code shared by `lakeocr evaluate`, the training scripts and bench/ (pure, no Spark)."""
