"""The strengths chart of the PDF: self-assessment and others' view, over time, as SVG.

A dot plot: one row per quality, the four-step scale across, one marker per series
(the pupil's own ratings in blue, others' in orange; older series lighter). It is
used until the pupil blueprint's `portfolio.pupil.charts` provides a shared one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from xml.sax.saxutils import escape

SELF_COLOURS = ("#9fc3e7", "#4f8fd0", "#1a5da8", "#0b3a70")
OTHER_COLOURS = ("#f6c58f", "#ee9a45", "#c96a12", "#8a4300")
FONT = "'Noto Sans', 'Noto Sans Arabic', 'DejaVu Sans', sans-serif"


@dataclass
class Series:
    label: str
    kind: str  # "self" or "others"
    ratings: dict[str, float] = field(default_factory=dict)


def _colour(kind: str, index: int, count: int) -> str:
    palette = SELF_COLOURS if kind == "self" else OTHER_COLOURS
    # The newest series gets the strongest colour.
    offset = len(palette) - count
    return palette[max(0, min(len(palette) - 1, offset + index))]


def strengths_chart_svg(
    qualities: list[tuple[str, str]],
    series: list[Series],
    scale: list[tuple[int, str]],
    *,
    rtl: bool = False,
) -> str:
    """SVG of the ratings: `qualities` as (key, name), `scale` as (value, label)."""
    label_w, plot_w, row_h, top = 190, 330, 20, 34
    legend_h = 16 * len(series) + 8
    width = label_w + plot_w + 10
    height = top + row_h * len(qualities) + 10 + legend_h
    steps = len(scale)

    def x(pos: float) -> float:
        value = label_w + 15 + (pos - 1) * (plot_w - 30) / max(steps - 1, 1)
        return width - value if rtl else value

    anchor_start = "end" if rtl else "start"
    out = [
        (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" font-family="{FONT}" font-size="10">'
        )
    ]
    # Scale labels and grid lines.
    for value, name in scale:
        out.append(
            f'<line x1="{x(value):.1f}" y1="{top - 6}" x2="{x(value):.1f}" '
            f'y2="{top + row_h * len(qualities)}" stroke="#d0d4da" stroke-width="1"/>'
        )
        out.append(
            f'<text x="{x(value):.1f}" y="{top - 12}" text-anchor="middle" '
            f'fill="#3d4450">{escape(str(name))}</text>'
        )
    per_series = len(series) or 1
    self_count = sum(1 for s in series if s.kind == "self")
    other_count = len(series) - self_count
    colours, seen = [], {"self": 0, "others": 0}
    for s in series:
        colours.append(
            _colour(s.kind, seen[s.kind], self_count if s.kind == "self" else other_count)
        )
        seen[s.kind] += 1
    for row, (key, name) in enumerate(qualities):
        y = top + row * row_h
        if row % 2 == 0:
            out.append(f'<rect x="0" y="{y}" width="{width}" height="{row_h}" fill="#f3f5f8"/>')
        lx = width - 4 if rtl else 4
        out.append(
            f'<text x="{lx}" y="{y + row_h / 2 + 3.5:.1f}" text-anchor="{anchor_start}" '
            f'fill="#1b1f24">{escape(name[:40])}</text>'
        )
        for i, s in enumerate(series):
            value = s.ratings.get(key)
            if not isinstance(value, (int, float)) or not 1 <= value <= steps:
                continue
            cy = y + 4 + (row_h - 8) * (i + 0.5) / per_series
            cx = x(value)
            if s.kind == "self":
                out.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="4" fill="{colours[i]}"/>')
            else:
                out.append(
                    f'<rect x="{cx - 4:.1f}" y="{cy - 4:.1f}" width="8" height="8" '
                    f'fill="{colours[i]}" transform="rotate(45 {cx:.1f} {cy:.1f})"/>'
                )
    # Legend.
    y0 = top + row_h * len(qualities) + 14
    for i, s in enumerate(series):
        y = y0 + i * 16
        mx = width - 10 if rtl else 10
        tx = width - 22 if rtl else 22
        if s.kind == "self":
            out.append(f'<circle cx="{mx}" cy="{y}" r="4" fill="{colours[i]}"/>')
        else:
            out.append(
                f'<rect x="{mx - 4}" y="{y - 4}" width="8" height="8" fill="{colours[i]}" '
                f'transform="rotate(45 {mx} {y})"/>'
            )
        out.append(
            f'<text x="{tx}" y="{y + 3.5}" text-anchor="{anchor_start}" '
            f'fill="#1b1f24">{escape(s.label[:80])}</text>'
        )
    out.append("</svg>")
    return "".join(out)
