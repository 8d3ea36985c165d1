"""Vigie benchmarks: ``make bench`` runs :mod:`bench.run`, which writes ``bench/results.json``.

Benchmarks measure and report; they never fail on a missed target (the verdicts
in the results say met / not met).
"""
