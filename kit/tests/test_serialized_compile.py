"""kit.testing serializes compile() in test processes (CPython 3.11's AST conversion shares one
depth counter between threads, cpython gh-106905): threads parsing at once while the garbage
collector runs finalizers in between, the way a test parses beside the suite's gateway threads."""

from __future__ import annotations

import ast
import builtins
import gc
import sys
import threading
from pathlib import Path

SOURCE = (Path(__file__).parents[2] / "gateway" / "api" / "people.py").read_text()


class _Finalized:
    def __del__(self) -> None:  # Python code run by the collector, in the middle of a conversion
        sum(range(200))


def _parse_while_collecting(errors: list[BaseException]) -> None:
    try:
        for _ in range(150):
            for _ in range(50):
                cycle = _Finalized()
                cycle.self = cycle  # type: ignore[attr-defined]
            ast.parse(SOURCE)
    except SystemError as exc:
        errors.append(exc)


def test_compile_is_serialized_in_test_processes():
    assert getattr(builtins.compile, "cartable_serialized", False)


def test_threads_parsing_at_once_never_see_a_depth_mismatch():
    errors: list[BaseException] = []
    thresholds, interval = gc.get_threshold(), sys.getswitchinterval()
    gc.set_threshold(50, 5, 5)
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=_parse_while_collecting, args=(errors,)) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        gc.set_threshold(*thresholds)
        sys.setswitchinterval(interval)
    assert errors == []
