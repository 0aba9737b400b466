"""`make benchmark-rca`: the engine's detection and root causes on 200+ simulated faults.

Run it as `python -m bench.rca` from the repository root; docs/benchmark-rca.md
says what is measured. The corpus (`corpus.toml`) lists seeded cases that
`aiops_simulate` turns into span records on the fly; each goes through
`aiops_engine.replay` with the analyzer's default settings, and is scored
with `aiops_engine.replay.scorecard`, next to two reference rankers fed the
same detections. Nothing runs at import; see `bench.rca.cli.main`.
"""
