"""Run every benchmark script in this package, one after the other."""

from __future__ import annotations

import importlib
import pkgutil
import sys

import bench


def main() -> int:
    failed = 0
    for info in sorted(pkgutil.iter_modules(bench.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"bench.{info.name}")
        print(f"== bench.{info.name}", flush=True)
        failed += int(module.main([]) != 0)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
