"""The completion-over-time chart, drawn on the server as SVG (no script, no CDN, nothing for CSP to refuse)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.utils.formats import date_format

WIDTH, HEIGHT = 760, 260
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 16, 40


@dataclass
class Chart:
    width: int
    height: int
    points: str  # polyline points of the cumulative curve
    area: str  # the same, closed along the axis, for the shaded area
    y_ticks: list  # (y, label)
    x_ticks: list  # (x, label)
    deadline_x: float | None
    today_x: float | None
    last: tuple  # (x, y, label, dy) of the newest point; the label sits under the point near the top
    summary: str  # text alternative
    plot: tuple  # (left, top, right, bottom)


def completion_chart(series: list[tuple[date, int]], *, total: int, deadline: date | None, today: date) -> Chart:
    """``series`` is (day, cumulative completed accounts); ``total`` the accounts that count (the 100% line)."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    first, last_day = series[0][0], series[-1][0]
    if deadline and deadline > last_day:
        last_day = deadline
    span = max((last_day - first).days, 1)
    top_value = max(total, series[-1][1], 1)

    def x(day: date) -> float:
        return round(LEFT + plot_w * (day - first).days / span, 1)

    def y(value: int) -> float:
        return round(TOP + plot_h * (1 - value / top_value), 1)

    coords = [(x(d), y(v)) for d, v in series]
    points = " ".join(f"{a},{b}" for a, b in coords)
    base = y(0)
    area = f"{coords[0][0]},{base} {points} {coords[-1][0]},{base}"
    y_ticks = [(round(TOP + plot_h * (1 - p / 100), 1), f"{p}%") for p in (0, 25, 50, 75, 100)]
    # About six date labels, at whole days.
    step = max(span // 6, 1)
    x_ticks = []
    for i in range(0, span + 1, step):
        day = date.fromordinal(first.toordinal() + i)
        x_ticks.append((x(day), f"{day.month}/{day.day}"))
    done = series[-1][1]
    pct = f"{100 * done / total:.1f}%" if total else "—"
    since, until = date_format(first, "SHORT_DATE_FORMAT"), date_format(series[-1][0], "SHORT_DATE_FORMAT")
    summary = f"{since}から{until}までの完了アカウント数の累計：{done}件（{pct}）"
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        points=points,
        area=area,
        y_ticks=y_ticks,
        x_ticks=x_ticks,
        deadline_x=x(deadline) if deadline and deadline >= first else None,
        today_x=x(today) if first <= today <= last_day else None,
        last=(coords[-1][0], coords[-1][1], f"{done}件 ({pct})", 16 if coords[-1][1] < TOP + 24 else -10),
        summary=summary,
        plot=(LEFT, TOP, WIDTH - RIGHT, HEIGHT - BOTTOM),
    )
