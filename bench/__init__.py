"""Benchmarks: each prints its figures and, where a peer exists, ratios measured in the same run."""
