"""Reproducible benchmarks with their baselines measured in the same run (`make bench`). Not run by CI."""
