"""What the CPU is, from /proc/cpuinfo (Linux): vendor, model and feature flags."""

from __future__ import annotations

from functools import cache
from pathlib import Path


@cache
def cpuinfo_fields() -> dict[str, str]:
    """The first processor's fields in /proc/cpuinfo ("vendor_id", "model name", "flags", ...);
    empty where the file does not exist (not Linux)."""
    cpuinfo = Path("/proc/cpuinfo")
    if not cpuinfo.exists():
        return {}
    fields = {}
    for line in cpuinfo.read_text().splitlines():
        if not line.strip():  # a blank line ends the first processor's block
            break
        key, colon, value = line.partition(":")
        if colon:
            fields[key.strip()] = value.strip()
    return fields


def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags ("avx512f", "amx_bf16", ...); empty where unknown."""
    return frozenset(cpuinfo_fields().get("flags", "").split())


def cpu_vendor() -> str:
    """The vendor string ("GenuineIntel", "AuthenticAMD", ...); "" where unknown."""
    return cpuinfo_fields().get("vendor_id", "")


def cpu_has_amx() -> bool:
    """Whether this CPU has AMX tiles for bf16 (Intel Sapphire Rapids and later; Linux only)."""
    return "amx_bf16" in cpu_flags()
