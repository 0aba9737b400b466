"""The AIOps engine: baselines, detection, RCA and incident rules as pure functions.

No database, no Redis, no clock of its own: the analyzer service wraps it with
storage and its loop, and `aiops replay` drives the very same functions in
simulated time, so what replay measures is what the live stack does.
"""
