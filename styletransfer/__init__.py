"""Learned style: a style transformer with conditional instance normalisation (Dumoulin et al.) whose γ, β come
from a style-prediction network (Ghiasi et al.).

Modules: `model` (the networks and their config), `checkpoint` (save, verified load), `data` (frames of
images/videos), `losses` (the perceptual loss), `train` (`vidstyle train-style`), `stylize` (`vidstyle stylize`).
Inference (`checkpoint`, `model`, `stylize`) never imports training code; the embedder's `style_cin` column uses
`checkpoint.load_cin` through `vidstyle.embedder.learned_style`.
"""
