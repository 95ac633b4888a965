"""Offline evaluation: labelled synthetic catalogues (contents x looks), triplet and retrieval metrics."""
