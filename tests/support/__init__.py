"""Helpers the tests share (paths, sample media, a real server); fixtures live in the conftest.py files."""
