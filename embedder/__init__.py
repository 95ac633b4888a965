"""Keyframes → backbone taps → content and style vectors → Parquet (EMB_DIR).

Modules, in pipeline order: `features` (content / style vectors from the backbone's taps), `dataset` (EMB_DIR,
the one module that reads and writes it), `pipeline` (the `vidstyle embed` job), `ray_engine` (the same job on
Ray Data). Decoding is `vidstyle.media`, the backbones `vidstyle.backbones`. Importing this package does not
import torch (nor ray).
"""
