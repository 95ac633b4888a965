"""Shared basics every stage builds on: settings, the error root, crash-safe files, vector helpers, spaces.

Nothing here imports a stage, torch or FAISS, so any module may import it.
"""
