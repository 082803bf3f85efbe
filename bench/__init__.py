"""Benchmarks: each script measures one part against a baseline in the same run and prints ratios.

`python -m bench` (`make bench`) runs them all; `python -m bench.<name> --help` runs one.
Numbers are printed, never asserted: they depend on the machine.
"""
