"""Word recognition: a ViTSTR-style transformer over column patches with a CTC head.

Rooms (doctr style): `charset` (vocabulary), `model` (architecture), `decode` (framework-light CTC
post-processing), `data` (crop normalisation, padding, batches), `phases` (training step objects),
`predictor` (batching by width, reduced precision, typed results).
"""
