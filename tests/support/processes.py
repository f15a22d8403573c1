"""The Chromium processes this test process started, read from /proc: which browsers run, and
how much memory a process tree holds."""

from __future__ import annotations

import os
from pathlib import Path

PROC = Path("/proc")


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # ended while we looked
        # The command name is in parentheses and may hold spaces: the fields follow the last ")".
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(parent, []).append(int(entry.name))
    return tree


def descendants(root: int | None = None) -> list[int]:
    """Every process under `root` (default: this one), children first."""
    tree = _children()
    found, todo = [], [os.getpid() if root is None else root]
    while todo:
        for child in tree.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _cmdline(pid: int) -> list[str]:
    try:
        raw = (PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def chromium_browsers(root: int | None = None) -> set[int]:
    """The main processes of the Chromium browsers under `root`: each launched browser has one
    (its renderers, GPU and utility processes carry a `--type=`)."""
    browsers = set()
    for pid in descendants(root):
        args = _cmdline(pid)
        if not args or not any(name in Path(args[0]).name for name in ("chrom", "headless_shell")):
            continue
        if "--remote-debugging-pipe" in args and not any(a.startswith("--type=") for a in args):
            browsers.add(pid)
    return browsers


def tree_memory_kb(root: int) -> tuple[int, int]:
    """(RSS, PSS) in KiB of `root` and its descendants. PSS counts each shared page once over
    the processes sharing it, which is what a memory limit on the whole tree sees; RSS counts
    shared pages in every process, an upper bound."""
    rss = pss = 0
    for pid in [root, *descendants(root)]:
        try:
            rollup = (PROC / str(pid) / "smaps_rollup").read_text()
        except OSError:
            continue
        for line in rollup.splitlines():
            name, _, value = line.partition(":")
            if name == "Rss":
                rss += int(value.split()[0])
            elif name == "Pss":
                pss += int(value.split()[0])
    return rss, pss
