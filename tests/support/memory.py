"""Resident memory of a compose service's main process, read inside its container."""

from __future__ import annotations

import re

from tests.support.compose import ComposeStack

MIB = 1024 * 1024


def mib(n: int) -> float:
    """`n` bytes in MiB, to a tenth."""
    return round(n / MIB, 1)


def rss_bytes(stack: ComposeStack, service: str) -> int:
    """VmRSS of PID 1 in `service`'s container: uvicorn, which compose runs without an init."""
    status = stack.exec(service, "cat", "/proc/1/status")
    match = re.search(r"^VmRSS:\s+(\d+) kB$", status, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"no VmRSS in {service}'s /proc/1/status:\n{status}")
    return int(match.group(1)) * 1024
