"""lakeocr models: pure PyTorch / NumPy / OpenCV code (no Spark, no Delta, no MLflow)."""
