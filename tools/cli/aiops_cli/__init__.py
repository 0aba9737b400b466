"""`aiops`: the analyzer's API for people who live in the terminal.

`aiops incidents`, `aiops incident ID`, `aiops ack ID`, `aiops resolve ID`,
`aiops trace TRACE_ID`, `aiops anomalies`, `aiops deps` and `aiops health`
print aligned tables; `--json` prints what the API answered instead.
"""

from .cli import build_parser, main

__all__ = ["build_parser", "main"]
