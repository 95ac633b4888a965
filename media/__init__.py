"""Video files in and out: listing a catalogue, decoding keyframes (in isolated workers), and writing the
sample media (drawn scenes, looks, H.264 clips) that the demo, the benchmarks and the tests are made of.

Stages above it (embedder, styletransfer, evaluation) read videos only through this package.
"""
