"""Server-rendered SVG bar charts: readable at a glance, no script, no CDN."""

from __future__ import annotations

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

WIDTH, HEIGHT, AXIS = 720, 180, 24


def bar_chart(points: list[tuple[str, float]], *, title: str, unit: str = "") -> SafeString:
    """One bar per (label, value); every label and value is escaped. Each bar carries a <title> tooltip."""
    top = max((value for _label, value in points), default=0) or 1
    slot = WIDTH / max(len(points), 1)
    bar = max(slot * 0.7, 1)
    rects = []
    for index, (label, value) in enumerate(points):
        height = (HEIGHT - AXIS) * value / top
        x = index * slot + (slot - bar) / 2
        y = HEIGHT - AXIS - height
        rects.append(
            (f"{x:.1f}", f"{y:.1f}", f"{bar:.1f}", f"{height:.1f}", f"{label}: {value:g} {unit}".strip())
        )
    bars = format_html_join(
        "",
        '<rect x="{}" y="{}" width="{}" height="{}" class="bar"><title>{}</title></rect>',
        rects,
    )
    first = points[0][0] if points else ""
    last = points[-1][0] if points else ""
    return format_html(
        '<svg class="chart" viewBox="0 0 {w} {h}" role="img" aria-label="{title}">'
        '<line x1="0" y1="{base}" x2="{w}" y2="{base}" class="axis"/>{bars}'
        '<text x="0" y="{h}" class="tick">{first}</text>'
        '<text x="{w}" y="{h}" class="tick" text-anchor="end">{last}</text>'
        '<text x="{w}" y="12" class="tick" text-anchor="end">{top} {unit}</text></svg>',
        w=WIDTH,
        h=HEIGHT,
        base=HEIGHT - AXIS,
        bars=bars,
        title=title,
        first=first,
        last=last,
        top=f"{top:g}",
        unit=unit,
    )
