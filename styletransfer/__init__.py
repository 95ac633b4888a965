"""Style transfer: the seed's six methods (Gatys, Johnson, StyleBank, N-style CIN, Ghiasi, AdaIN), the perceptual
loss they share, training, rendering and comparison.

Modules: `model` (Ghiasi's networks and the config every method shares), one module per other method (`gatys`,
`nstyle` for cin and johnson, `stylebank`, `adain`, `ghiasi`'s training side), `methods` (which class is which
method), `checkpoint` (save, verified load), `data` (frames of images/videos), `losses` (the perceptual loss),
`known_styles` (an N-style model's styles), `train` (`vidstyle train-style`), `stylize` (`vidstyle stylize`),
`compare` (`vidstyle stylize-compare`) and `represent` (what an N-style model says about a video's look, scored by
`vidstyle eval`). Inference (`checkpoint`, `model`, `stylize`) never imports training code; the embedder's
`style_cin` column uses `checkpoint.load_cin` through `vidstyle.embedder.learned_style`.
"""
