"""Video → keyframes → backbone taps → content and style vectors → Parquet (EMB_DIR).

Modules, in pipeline order: `decode` (keyframes, PyAV fallback), `decode_pool` (isolated worker processes),
`backbones` (weights and tap tables), `features` (content / style vectors), `dataset` (Parquet parts),
`pipeline` (the `vidstyle embed` job). Importing this package does not import torch.
"""
