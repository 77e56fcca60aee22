"""The machine's own two-core figure that the throughput bench prints beside the two-worker ratio."""

from __future__ import annotations

import pytest

from bench import machine


def test_two_cores_compares_a_pair_of_loops_with_one_alone(monkeypatch):
    calls: list[int] = []
    walls = {1: [0.50, 0.70], 2: [[0.62, 0.90]]}

    def loops(copies: int, iterations: int) -> list[float]:
        calls.append(copies)
        return [walls[1].pop(0)] if copies == 1 else walls[2].pop(0)

    monkeypatch.setattr(machine, "_loops", loops)
    assert machine.two_cores() == pytest.approx(0.90 / 0.60)  # the slower copy over alone's mean
    assert calls == [1, 2, 1]  # alone before and after the pair


def test_the_probe_loop_runs_and_times_itself():
    alone = machine._loops(1, 20_000)
    pair = machine._loops(2, 20_000)
    assert len(alone) == 1 and len(pair) == 2
    assert all(0 < wall < 5 for wall in alone + pair)
    assert 0.05 < machine.two_cores(20_000) < 50
