"""The capacity model: Auto Scaling settings, the simulated day and the cost (pure computation)."""

from __future__ import annotations

import math
from itertools import pairwise

import pytest

from benchmarks import capacity as cap

FLEET = cap.Fleet("test", cores=16, s_per_page=1.6, efficiency=1.0, pages_per_message=2.0,
                  on_demand_hour=0.8, spot_hour=0.3)


def test_an_instance_serves_cores_over_seconds_per_page() -> None:
    assert FLEET.pages_s == pytest.approx(10.0)
    assert FLEET.messages_s == pytest.approx(5.0)


def test_target_backlog_is_what_one_instance_clears_within_the_latency_target() -> None:
    assert cap.target_backlog(FLEET, latency_target_s=60, warmup_s=0) == 300
    assert cap.target_backlog(FLEET, latency_target_s=0.01, warmup_s=0) == 1


def test_the_warmup_comes_out_of_the_latency_budget() -> None:
    assert cap.target_backlog(FLEET, latency_target_s=600, warmup_s=300) == 1500
    assert cap.target_backlog(FLEET, latency_target_s=200, warmup_s=300) == 100  # a tenth of the target kept


def test_min_serves_the_trough_and_max_the_peak_with_headroom() -> None:
    assert cap.size_limits(FLEET, peak_pages_s=40, trough_pages_s=5) == (1, 5)
    assert cap.size_limits(FLEET, peak_pages_s=1, trough_pages_s=25) == (3, 3)


def test_the_day_profile_has_a_quiet_night_a_plateau_and_a_burst() -> None:
    rates = cap.day_profile(peak_pages_s=20, trough_pages_s=1, step_s=60)
    assert len(rates) == 1440
    assert rates[3 * 60] == 1 and rates[12 * 60] == 20 and rates[14 * 60 + 5] == 60


def test_the_simulation_keeps_its_limits_and_cooldowns() -> None:
    scaling = cap.Scaling(target_backlog=50, min_size=1, max_size=6)
    rows = cap.simulate(cap.day_profile(40, 1, step_s=10), FLEET, scaling, step_s=10)
    assert all(r["queue_pages"] >= 0 for r in rows)
    assert all(scaling.min_size <= r["in_service"] <= r["billed"] <= scaling.max_size for r in rows)
    assert max(r["billed"] for r in rows) == scaling.max_size
    launches = [r["t_s"] for prev, r in pairwise(rows) if r["launching"] > prev["launching"]]
    assert all(b - a >= scaling.scale_out_cooldown_s for a, b in pairwise(launches))
    assert rows[-1]["in_service"] == scaling.min_size  # scaled back in by midnight


def test_a_new_instance_serves_only_after_its_warmup() -> None:
    scaling = cap.Scaling(target_backlog=1, min_size=1, max_size=2, warmup_s=300)
    rows = cap.simulate([100.0] * 60, FLEET, scaling, step_s=10)
    serving_two = next(r["t_s"] for r in rows if r["in_service"] == 2)
    assert serving_two == 300


def test_cost_per_1000_pages() -> None:
    assert cap.full_use_cost_per_1000(FLEET, 0.8) == pytest.approx(0.8 / 3600 / 10 * 1000)
    rows = cap.simulate([5.0] * 360, FLEET, cap.Scaling(100, 1, 1), step_s=10)
    cost = cap.day_cost(rows, FLEET, step_s=10)
    assert cost["instance_hours"] == 1.0 and cost["pages"] == 18000
    assert cost["on_demand_per_1000"] == pytest.approx(0.8 / 18, abs=1e-4)
    assert cost["managed_per_1000"] == 1.5 and not math.isnan(cost["spot_per_1000"])
