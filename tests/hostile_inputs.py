"""Hostile inputs shared by tests/test_hostile.py and benchmarks/hostile.py."""

from __future__ import annotations


def alias_bomb(levels: int = 9) -> str:
    """YAML whose anchors ``a`` .. nest nine aliases of the one before: ``levels`` lines,
    about 400 bytes, expanding to ``9**levels`` strings (the "billion laughs")."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def inline_alias_bomb(levels: int = 9) -> str:
    """The same as one YAML flow list (to sit under a key such as ``log:``), its last element
    expanding to ``9**levels`` strings."""
    parts = ["&a [" + ",".join(['"lol"'] * 9) + "]"]
    for i in range(1, levels):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        parts.append(f"&{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    return "[" + ", ".join(parts) + "]"
