"""The flow engine: dispatch (event -> enrollments), advance (run steps), sweeps, simulator.

Data moves one way: capture -> dispatch -> advance -> deliver. This package imports the
domain models; nothing in models/ imports it.
"""
