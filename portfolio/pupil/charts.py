"""Server-side SVG charts (no JavaScript, safe under the strict CSP, usable in the PDF)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from xml.sax.saxutils import escape as _xml_escape

from portfolio.reference import SCALE

#: Marker shapes and colours by series; shapes differ so colour is never the only cue.
SHAPES = ("circle", "square", "triangle", "diamond", "cross", "triangle-down")
COLOURS = ("#004b87", "#b34700", "#1b7a3d", "#7a2b8f", "#8a6d00", "#b3003b")


def _esc(text) -> str:
    return _xml_escape(str(text), {'"': "&quot;"})


def _marker(shape: str, x: float, y: float, colour: str, r: float = 6.0) -> str:
    if shape == "circle":
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" fill="{colour}"/>'
    if shape == "square":
        return (
            f'<rect x="{x - r:.1f}" y="{y - r:.1f}" width="{2 * r:.1f}" height="{2 * r:.1f}" '
            f'fill="{colour}"/>'
        )
    if shape == "triangle":
        pts = f"{x:.1f},{y - r - 1:.1f} {x + r + 1:.1f},{y + r:.1f} {x - r - 1:.1f},{y + r:.1f}"
        return f'<polygon points="{pts}" fill="{colour}"/>'
    if shape == "triangle-down":
        pts = f"{x:.1f},{y + r + 1:.1f} {x + r + 1:.1f},{y - r:.1f} {x - r - 1:.1f},{y - r:.1f}"
        return f'<polygon points="{pts}" fill="{colour}"/>'
    if shape == "diamond":
        pts = (
            f"{x:.1f},{y - r - 1:.1f} {x + r + 1:.1f},{y:.1f} "
            f"{x:.1f},{y + r + 1:.1f} {x - r - 1:.1f},{y:.1f}"
        )
        return f'<polygon points="{pts}" fill="{colour}"/>'
    # cross
    return (
        f'<path d="M{x - r:.1f} {y - r:.1f}L{x + r:.1f} {y + r:.1f}M{x + r:.1f} {y - r:.1f}'
        f'L{x - r:.1f} {y + r:.1f}" stroke="{colour}" stroke-width="3" fill="none"/>'
    )


def strengths_chart_svg(
    qualities: Sequence[tuple[str, str]],
    series: Sequence[Mapping],
    *,
    title: str = "",
    description: str = "",
    scale: Sequence[tuple[int, object]] = SCALE,
    rtl: bool = False,
    id_prefix: str = "strengths-chart",
) -> str:
    """A dot chart: per quality one row, per series one marker on the four-step scale.

    `qualities` are (key, label) pairs; each series is a mapping with "label" and
    "values" ({quality key: 1..4}). All text is escaped. With `rtl` the scale runs
    from right to left. The chart shows positions, not scores: there is no total.
    """
    width, left, right = 480, 24, 456
    steps = [value for value, _label in scale]
    lo, hi = min(steps), max(steps)

    def x_of(value: float) -> float:
        x = left + (value - lo) / (hi - lo) * (right - left)
        return width - x if rtl else x

    anchor_start = "end" if rtl else "start"
    text_x = right if rtl else left
    out: list[str] = []
    y = 8.0
    # Legend: one line per series, shape and colour together with the name.
    for i, s in enumerate(series):
        shape, colour = SHAPES[i % len(SHAPES)], COLOURS[i % len(COLOURS)]
        y += 22
        mx = (width - left - 6) if rtl else (left + 6)
        out.append(_marker(shape, mx, y - 5, colour))
        tx = (width - left - 20) if rtl else (left + 20)
        out.append(
            f'<text x="{tx}" y="{y:.1f}" text-anchor="{anchor_start}" '
            f'font-size="15">{_esc(s.get("label", ""))}</text>'
        )
    # Scale labels above the rows.
    y += 34
    for value, label in scale:
        anchor = "middle"
        if value == lo:
            anchor = "end" if rtl else "start"
        elif value == hi:
            anchor = "start" if rtl else "end"
        out.append(
            f'<text x="{x_of(value):.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="13" '
            f'fill="#444">{_esc(label)}</text>'
        )
    y += 8
    band = 12 * max(len(series), 1)
    for key, label in qualities:
        y += 24
        out.append(
            f'<text x="{text_x}" y="{y:.1f}" text-anchor="{anchor_start}" '
            f'font-size="15" font-weight="600">{_esc(label)}</text>'
        )
        top = y + 8
        out.append(
            f'<line x1="{x_of(lo):.1f}" y1="{top + band / 2:.1f}" x2="{x_of(hi):.1f}" '
            f'y2="{top + band / 2:.1f}" stroke="#bbb" stroke-width="1"/>'
        )
        for value in steps:
            out.append(
                f'<line x1="{x_of(value):.1f}" y1="{top:.1f}" x2="{x_of(value):.1f}" '
                f'y2="{top + band:.1f}" stroke="#999" stroke-width="1"/>'
            )
        for i, s in enumerate(series):
            value = (s.get("values") or {}).get(key)
            if value not in steps:
                continue
            my = top + 6 + 12 * i
            out.append(
                _marker(SHAPES[i % len(SHAPES)], x_of(value), my, COLOURS[i % len(COLOURS)], r=5)
            )
        y = top + band + 4
    height = int(y + 12)
    title_id, desc_id = f"{id_prefix}-title", f"{id_prefix}-desc"
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="bwp-chart" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-labelledby="{title_id} {desc_id}" '
        f'font-family="Fira Sans, sans-serif" direction="{"rtl" if rtl else "ltr"}">'
        f'<title id="{title_id}">{_esc(title)}</title>'
        f'<desc id="{desc_id}">{_esc(description)}</desc>'
    )
    return head + "".join(out) + "</svg>"
