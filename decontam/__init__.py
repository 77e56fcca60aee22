"""Benchmark decontamination: loaders (Hub or local files), normalisation, one-pass matching.

Entry point for callers: ``decontam.core.Decontaminator`` built from
``decontam.loaders.load_benchmark_strings``; see docs/decontam.md.
"""
