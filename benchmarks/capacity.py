"""Capacity planning from measured seconds per page: Auto Scaling settings, a simulated day of traffic
(queue depth and instances with the 60 s / 300 s cool-downs and the 300 s warm-up), and cost per
1,000 pages beside a managed OCR service. Pure computation; notebooks/capacity.ipynb drives it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MANAGED_PER_1000 = 1.50  # USD per 1,000 pages, the managed OCR service we compare with


@dataclass(frozen=True)
class Fleet:
    """One instance type running the stream service."""

    name: str
    cores: int  # OCR processes per instance (one per core)
    s_per_page: float  # engine seconds per page on one core (the measured limit: cores / limit pages/s)
    efficiency: float = 0.95  # pipeline pages/s / limit pages/s, as measured
    pages_per_message: float = 1.0
    on_demand_hour: float = 0.0
    spot_hour: float = 0.0

    @property
    def pages_s(self) -> float:
        """Pages per second one in-service instance sustains."""
        return self.cores * self.efficiency / self.s_per_page

    @property
    def messages_s(self) -> float:
        """Messages per second one in-service instance sustains."""
        return self.pages_s / self.pages_per_message


@dataclass(frozen=True)
class Scaling:
    """Target tracking on ``visible messages / in-service instances``, with its limits and timings."""

    target_backlog: int
    min_size: int
    max_size: int
    scale_out_cooldown_s: float = 60.0
    scale_in_cooldown_s: float = 300.0
    warmup_s: float = 300.0


def target_backlog(fleet: Fleet, latency_target_s: float, warmup_s: float = 300.0) -> int:
    """Messages one instance may have waiting and still clear them within the latency target, less
    the warm-up a new instance needs before it helps (at least a tenth of the target is kept)."""
    budget = max(latency_target_s - warmup_s, latency_target_s / 10)
    return max(1, math.floor(budget * fleet.messages_s))


def size_limits(fleet: Fleet, peak_pages_s: float, trough_pages_s: float, headroom: float = 1.25) -> tuple[int, int]:
    """(min, max) instances: the trough served without scaling, the peak with headroom."""
    low = max(1, math.ceil(trough_pages_s / fleet.pages_s))
    high = max(low, math.ceil(peak_pages_s * headroom / fleet.pages_s))
    return low, high


def recommend(fleet: Fleet, latency_target_s: float, peak_pages_s: float, trough_pages_s: float,
              warmup_s: float = 300.0) -> Scaling:
    """Auto Scaling settings for this fleet and traffic."""
    low, high = size_limits(fleet, peak_pages_s, trough_pages_s)
    return Scaling(target_backlog(fleet, latency_target_s, warmup_s), low, high, warmup_s=warmup_s)


def day_profile(peak_pages_s: float, trough_pages_s: float, step_s: float = 10.0,
                bursts: tuple[tuple[float, float, float], ...] = ((14.0, 0.25, 3.0),)) -> list[float]:
    """Arrival rate (pages/s) for each step of a day: quiet nights, a business-hours plateau
    (ramps 08-10 h and 17-19 h), and bursts given as (hour, length in hours, times the peak)."""
    rates = []
    for i in range(int(86400 / step_s)):
        hour = i * step_s / 3600
        if 10 <= hour < 17:
            share = 1.0
        elif 8 <= hour < 10:
            share = (hour - 8) / 2
        elif 17 <= hour < 19:
            share = (19 - hour) / 2
        else:
            share = 0.0
        rate = trough_pages_s + (peak_pages_s - trough_pages_s) * share
        for start, length, times in bursts:
            if start <= hour < start + length:
                rate = peak_pages_s * times
        rates.append(rate)
    return rates


def simulate(arrivals: list[float], fleet: Fleet, scaling: Scaling, step_s: float = 10.0) -> list[dict[str, float]]:
    """Step through the day: arrivals join the queue, in-service instances drain it, the policy scales.

    New instances are billed at once and serve after ``warmup_s``; scale-out waits for its 60 s
    cool-down, scale-in for its 300 s one; the size stays within [min, max].
    """
    queue = 0.0
    serving = scaling.min_size
    launching: list[float] = []  # times at which launched instances come into service
    last_out = last_in = -math.inf
    rows = []
    for i, rate in enumerate(arrivals):
        t = i * step_s
        serving += sum(1 for ready in launching if ready <= t)
        launching = [ready for ready in launching if ready > t]
        queue += rate * step_s
        done = min(queue, serving * fleet.pages_s * step_s)
        queue -= done
        backlog = queue / fleet.pages_per_message
        desired = min(scaling.max_size, max(scaling.min_size, math.ceil(backlog / scaling.target_backlog)))
        total = serving + len(launching)
        if desired > total and t - last_out >= scaling.scale_out_cooldown_s:
            launching += [t + scaling.warmup_s] * (desired - total)
            last_out = t
        elif desired < total and t - last_in >= scaling.scale_in_cooldown_s and t - last_out >= scaling.warmup_s:
            serving = max(scaling.min_size, serving - (total - desired))
            last_in = t
        rows.append({
            "t_s": t, "hour": t / 3600, "arrival_pages_s": rate, "queue_pages": queue, "done_pages": done,
            "in_service": serving, "launching": len(launching), "billed": serving + len(launching),
            "wait_s": queue / (serving * fleet.pages_s) if serving else math.inf,
        })
    return rows


def day_cost(rows: list[dict[str, float]], fleet: Fleet, step_s: float = 10.0) -> dict[str, float]:
    """Instance-hours billed, pages done, and USD per 1,000 pages on demand and on Spot."""
    hours = sum(r["billed"] for r in rows) * step_s / 3600
    pages = sum(r["done_pages"] for r in rows)
    per_1000 = 1000 / pages if pages else math.nan
    return {
        "instance_hours": round(hours, 2), "pages": round(pages),
        "on_demand_per_1000": round(hours * fleet.on_demand_hour * per_1000, 4),
        "spot_per_1000": round(hours * fleet.spot_hour * per_1000, 4),
        "managed_per_1000": MANAGED_PER_1000,
    }


def full_use_cost_per_1000(fleet: Fleet, price_hour: float) -> float:
    """USD per 1,000 pages for an instance kept busy all the time (the floor of the cost)."""
    return price_hour / 3600 / fleet.pages_s * 1000
