"""Benchmarks: medians of repeated runs, reported as ratios against a baseline measured in the
same run (the machine is shared and noisy, absolute times are only indicative)."""
