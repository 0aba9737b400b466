"""Break the shop on purpose, and score what the analyzer concluded.

`python -m aiops_chaos load` drives realistic traffic; `list`, `run NAME`
and `evaluate` play the declarative scenarios in `scenarios/` against a
running stack.
"""
