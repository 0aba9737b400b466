"""`make benchmark-detect`: the engine's metric detector on labelled metric streams.

Run it as `python -m bench.detect` from the repository root; docs/benchmark-detect.md
says what is measured. The corpus (`corpus.toml`) lists seeded streams that
`aiops_simulate.make_stream` draws on the fly, each with its labelled windows; every
detector (the engine's `aiops_engine.metrics.judge`, and three references) judges each
point from the points before it, and the engine's `aiops_engine.metrics.scorecard` scores the
alarms against the windows (as `aiops replay --metrics` does).
Nothing runs at import; see `bench.detect.cli.main`.
"""
