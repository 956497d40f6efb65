"""Server-rendered inline SVG charts: readable at a glance, no JavaScript, a few KB each.

Each function takes plain numbers and returns SVG markup with every text escaped. Colours come
from CSS classes (``static/css/dashboard.css``) so that the charts follow the page's theme.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from django.utils.safestring import SafeString, mark_safe

WIDTH = 640
FONT = 12


def _svg(
    width: int, height: int, body: list[str], title: str, *, natural: bool = False
) -> SafeString:
    """``natural``: drawn at its own size (shrunk to fit), never blown up to the card's width."""
    size = f'width="{width}"' if natural else 'width="100%"'
    return mark_safe(  # noqa: S308 - every text below goes through escape()
        f'<svg class="chart" viewBox="0 0 {width} {height}" {size} role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(title)}</title>{''.join(body)}</svg>"
    )


def _text(x: float, y: float, text: str, *, anchor: str = "start", cls: str = "") -> str:
    klass = f' class="{cls}"' if cls else ""
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{FONT}"{klass}>'
        f"{escape(text)}</text>"
    )


def _fmt(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def hbars(rows: Sequence[tuple[str, float]], *, title: str, unit: str = "") -> SafeString:
    """Horizontal bars, one per ``(label, value)``, the value written at the end of the bar."""
    label_w, bar_h, gap = 250, 18, 6
    height = max(1, len(rows)) * (bar_h + gap) + gap
    top = max((v for _, v in rows), default=0) or 1
    span = WIDTH - label_w - 70
    body = []
    for n, (label, value) in enumerate(rows):
        y = gap + n * (bar_h + gap)
        w = span * value / top
        short = label if len(label) <= 36 else label[:35] + "…"
        body.append(_text(label_w - 8, y + bar_h - 5, short, anchor="end"))
        body.append(
            f'<rect class="bar" x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}">'
            f"<title>{escape(label)}: {value:g}{escape(unit)}</title></rect>"
        )
        body.append(_text(label_w + w + 6, y + bar_h - 5, f"{value:g}{unit}"))
    if not rows:
        body.append(_text(8, 16, "nothing yet", cls="muted"))
    return _svg(WIDTH, height, body, title)


def alpha_intervals(
    rows: Sequence[tuple[str, float | None, float | None, float | None]], *, title: str
) -> SafeString:
    """Dot (alpha) and whisker (interval) per field, on a shared axis with the 0.667 and 0.8
    marks Krippendorff gives for tentative and reliable conclusions."""
    label_w, row_h = 230, 26
    values = [v for _, a, lo, hi in rows for v in (a, lo, hi) if v is not None]
    low = min([0.0, *values])
    low = max(-1.0, (int(low * 5) - 1) / 5) if low < 0 else 0.0
    high = 1.0
    span = WIDTH - label_w - 60
    height = max(1, len(rows)) * row_h + 34

    def x(value: float) -> float:
        return label_w + span * (value - low) / (high - low)

    body = []
    # 0.667 is drawn but not labelled: its label would collide with 0.8's.
    marks = [
        (0.0, "axis", "middle"),
        (0.667, "mark", ""),
        (0.8, "mark", "middle"),
        (1.0, "axis", "middle"),
    ]
    if low < 0:
        marks.insert(0, (low, "axis", "start"))
    for mark, cls, anchor in marks:
        body.append(
            f'<line class="{cls}" x1="{x(mark):.1f}" x2="{x(mark):.1f}" y1="4" y2="{height - 24}"/>'
        )
        if anchor:
            body.append(_text(x(mark), height - 8, f"{mark:g}", anchor=anchor, cls="muted"))
    for n, (label, alpha, lo, hi) in enumerate(rows):
        y = 4 + n * row_h + row_h / 2
        body.append(_text(label_w - 8, y + 4, label, anchor="end"))
        if lo is not None and hi is not None:
            body.append(
                f'<line class="whisker" x1="{x(lo):.1f}" x2="{x(hi):.1f}" y1="{y:.1f}" '
                f'y2="{y:.1f}"/>'
            )
        if alpha is None:
            body.append(_text(label_w + 4, y + 4, "no alpha: see the table", cls="muted"))
            continue
        tip = f"{label}: alpha {_fmt(alpha, 3)} [{_fmt(lo, 3)}, {_fmt(hi, 3)}]"
        body.append(
            f'<circle class="dot" cx="{x(alpha):.1f}" cy="{y:.1f}" r="5">'
            f"<title>{escape(tip)}</title></circle>"
        )
        body.append(_text(WIDTH - 4, y + 4, _fmt(alpha, 3), anchor="end"))
    return _svg(WIDTH, height, body, title)


def timeline(points: Sequence[tuple[str, int]], *, total: int | None, title: str) -> SafeString:
    """Cumulative annotations per day as a line, with the wanted total as a dashed line."""
    height, left, bottom = 180, 56, 28
    inner_w, inner_h = WIDTH - left - 12, height - bottom - 10
    top = max([total or 0, *(v for _, v in points)]) or 1
    body = [
        f'<line class="axis" x1="{left}" x2="{left}" y1="10" y2="{10 + inner_h}"/>',
        f'<line class="axis" x1="{left}" x2="{WIDTH - 12}" y1="{10 + inner_h}" '
        f'y2="{10 + inner_h}"/>',
        _text(left - 6, 16, f"{top:,}", anchor="end", cls="muted"),
        _text(left - 6, 10 + inner_h, "0", anchor="end", cls="muted"),
    ]
    if total:
        y = 10 + inner_h * (1 - total / top)
        body.append(
            f'<line class="mark" x1="{left}" x2="{WIDTH - 12}" y1="{y:.1f}" y2="{y:.1f}">'
            f"<title>wanted: {total:,}</title></line>"
        )
    if points:
        n = len(points)
        coords = []
        for i, (_, value) in enumerate(points):
            px = left + (inner_w * i / (n - 1) if n > 1 else inner_w / 2)
            py = 10 + inner_h * (1 - value / top)
            coords.append(f"{px:.1f},{py:.1f}")
        body.append(f'<polyline class="line" points="{" ".join(coords)}"/>')
        for i, (day, value) in enumerate(points):
            cx, cy = coords[i].split(",")
            body.append(
                f'<circle class="dot small" cx="{cx}" cy="{cy}" r="3">'
                f"<title>{escape(day)}: {value:,}</title></circle>"
            )
        body.append(_text(left, height - 8, points[0][0], cls="muted"))
        if n > 1:
            body.append(_text(WIDTH - 12, height - 8, points[-1][0], anchor="end", cls="muted"))
    else:
        body.append(_text(left + 8, 30, "no annotations yet", cls="muted"))
    return _svg(WIDTH, height, body, title)


def heatmap(
    names: Sequence[str],
    matrix: Sequence[Sequence[float | None]],
    counts: Sequence[Sequence[int]],
    *,
    title: str,
) -> SafeString:
    """Pairwise agreement: darker is higher; blank where two annotators share no item."""
    n = len(names)
    label_w = 110
    cell = max(12, min(40, (WIDTH - label_w) // max(1, n)))
    width = label_w + cell * n + 4
    height = label_w + cell * n + 4
    body = []
    for i, name in enumerate(names):
        short = name if len(name) <= 14 else name[:13] + "…"
        body.append(_text(label_w - 6, label_w + i * cell + cell * 0.65, short, anchor="end"))
        cx, cy = label_w + i * cell + cell * 0.65, label_w - 6
        body.append(
            f'<text x="{cx:.1f}" y="{cy:.1f}" font-size="{FONT}" '
            f'transform="rotate(-60 {cx:.1f} {cy:.1f})">{escape(short)}</text>'
        )
    for i in range(n):
        for j in range(n):
            value = matrix[i][j]
            x, y = label_w + j * cell, label_w + i * cell
            if value is None:
                body.append(f'<rect class="empty" x="{x}" y="{y}" width="{cell}" height="{cell}"/>')
                continue
            tip = f"{names[i]} × {names[j]}: {value:.2f} on {counts[i][j]} items"
            body.append(
                f'<rect class="cell" x="{x}" y="{y}" width="{cell}" height="{cell}" '
                f'fill-opacity="{0.08 + 0.92 * max(0.0, value):.2f}"><title>{escape(tip)}</title>'
                f"</rect>"
            )
            if cell >= 28:
                cls = "on-dark" if value > 0.55 else ""
                body.append(
                    _text(
                        x + cell / 2,
                        y + cell / 2 + 4,
                        f"{value:.2f}"[1:] if 0 <= value < 1 else f"{value:.1f}",
                        anchor="middle",
                        cls=cls,
                    )
                )
    return _svg(width, height, body, title, natural=True)
