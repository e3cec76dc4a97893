"""The scale benchmark's quick run (``benchmarks/scale_bench.py --quick``, issue 15 requirement 7).

It runs on a Hub of its own (50 users x 5 stored apps, 2 apps started at once, 50 websockets through
one proxy) and must complete, every phase answering without errors. It asserts no timing: the full
run (``make benchmark``) measures, and ``docs/benchmarks.md`` keeps its numbers.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.scale_bench import main

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]


def test_the_quick_scale_benchmark_completes_and_measures_every_phase(tmp_path: Path) -> None:
    out = tmp_path / "scale.json"
    assert main(["--quick", "--json", str(out)]) == 0
    results = json.loads(out.read_text())

    for phase in ("cold", "list", "gallery", "list_saturated"):
        assert results[phase]["requests"] > 0, phase
        assert results[phase]["errors"] == 0, phase
        assert results[phase]["p99_ms"] > 0, phase
    for level in results["plan"]["levels"]:
        counted = results["hub_calls"][str(level)]
        assert counted["list"]["errors"] == 0
        assert counted["hub_calls_per_s"] >= 0
    assert results["start"]["apps"] == 2
    assert results["start"]["failed"] == {}
    assert results["start"]["all_ready_s"] > 0
    sockets = results["websockets"]
    assert sockets["opened"] == sockets["echoed"] == sockets["asked"] == 50
    assert results["service_rss_mb"]["peak"] > 0
