"""Inline SVG charts for reports: grouped bars, recall@k curves, a histogram. No JS, no CDN."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

PALETTE = ("#1f5fa8", "#d9822b", "#3a9a5b", "#a83f3f", "#7a5ba8", "#777777")


def _frame(w: int, h: int, body: str, title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" '
        f'font-family="sans-serif" font-size="11" role="img" aria-label="{escape(title)}">'
        f'<text x="{w / 2}" y="14" text-anchor="middle" font-size="13" font-weight="bold">{escape(title)}</text>'
        f"{body}</svg>"
    )


def _legend(names: Sequence[str], x: int, y: int) -> str:
    out = []
    for i, name in enumerate(names):
        cx = x + i * 110
        out.append(f'<rect x="{cx}" y="{y}" width="10" height="10" fill="{PALETTE[i % len(PALETTE)]}"/>'
                   f'<text x="{cx + 14}" y="{y + 9}">{escape(name)}</text>')
    return "".join(out)


def grouped_bars(groups: dict[str, dict[str, float]], title: str, ymax: float = 1.0) -> str:
    """Bars per metric (group), one bar per series (e.g. hybrid, bm25, dense)."""
    series = list(dict.fromkeys(s for g in groups.values() for s in g))
    slot = len(series) * 16 + 22
    longest = max((len(g) for g in groups), default=0)
    slanted = longest * 6.5 > slot  # labels wider than their slot are drawn at an angle
    bottom = 60 + (int(longest * 3.6) if slanted else 0)
    left = 40 + (int(longest * 3.2) if slanted else 0)
    w, h, top = max(360, left + 30 + len(groups) * slot), 200 + bottom, 28
    ph = h - top - bottom
    body = [_axis_y(left, top, ph, w, ymax)]
    gx = left + 10
    for gname, vals in groups.items():
        for i, s in enumerate(series):
            v = vals.get(s)
            if v is None:
                continue
            bh = ph * min(v / ymax, 1.0)
            x = gx + i * 16
            body.append(f'<rect x="{x}" y="{top + ph - bh:.1f}" width="14" height="{bh:.1f}" '
                        f'fill="{PALETTE[i % len(PALETTE)]}"><title>{escape(s)} {escape(gname)}: {v:.3f}</title></rect>')
        lx, ly = gx + len(series) * 8, top + ph + 14
        if slanted:
            body.append(f'<text x="{lx}" y="{ly}" text-anchor="end" transform="rotate(-40 {lx} {ly})">'
                        f'{escape(gname)}</text>')
        else:
            body.append(f'<text x="{lx}" y="{ly}" text-anchor="middle">{escape(gname)}</text>')
        gx += len(series) * 16 + 22
    body.append(_legend(series, left, h - 18))
    return _frame(w, h, "".join(body), title)


def _axis_y(left: int, top: int, ph: float, w: int, ymax: float) -> str:
    out = []
    for i in range(5):
        v = ymax * i / 4
        y = top + ph - ph * i / 4
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{w - 10}" y2="{y:.1f}" stroke="#ddd"/>'
                   f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{v:.2f}</text>')
    return "".join(out)


def curves(series: dict[str, Sequence[tuple[float, float]]], title: str, xlabel: str = "k") -> str:
    """Lines of (x, y) points, y in [0, 1]: recall@k curves."""
    w, h, left, top, bottom = 380, 260, 40, 28, 60
    pw, ph = w - left - 20, h - top - bottom
    xs = sorted({x for pts in series.values() for x, _ in pts}) or [1]
    span = (xs[-1] - xs[0]) or 1

    def px(x: float) -> float:
        return left + pw * (x - xs[0]) / span

    body = [_axis_y(left, top, ph, w, 1.0)]
    for x in xs:
        body.append(f'<text x="{px(x):.1f}" y="{top + ph + 14}" text-anchor="middle">{x:g}</text>')
    body.append(f'<text x="{left + pw / 2}" y="{top + ph + 28}" text-anchor="middle">{escape(xlabel)}</text>')
    for i, (name, pts) in enumerate(series.items()):
        color = PALETTE[i % len(PALETTE)]
        path = " ".join(f"{px(x):.1f},{top + ph - ph * y:.1f}" for x, y in pts)
        body.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
        for x, y in pts:
            body.append(f'<circle cx="{px(x):.1f}" cy="{top + ph - ph * y:.1f}" r="3" fill="{color}">'
                        f"<title>{escape(name)} @{x:g}: {y:.3f}</title></circle>")
    body.append(_legend(list(series), left, h - 18))
    return _frame(w, h, "".join(body), title)


def histogram(values: Sequence[float], title: str, bins: int = 20, unit: str = "ms") -> str:
    w, h, left, top, bottom = 380, 220, 40, 28, 40
    pw, ph = w - left - 20, h - top - bottom
    if not values:
        return _frame(w, h, f'<text x="{w / 2}" y="{h / 2}" text-anchor="middle">no data</text>', title)
    lo, hi = min(values), max(values)
    width = (hi - lo) / bins or 1.0
    counts = [0] * bins
    for v in values:
        counts[min(int((v - lo) / width), bins - 1)] += 1
    top_count = max(counts)
    body = []
    bw = pw / bins
    for i, c in enumerate(counts):
        bh = ph * c / top_count
        body.append(f'<rect x="{left + i * bw:.1f}" y="{top + ph - bh:.1f}" width="{bw - 1:.1f}" height="{bh:.1f}" '
                    f'fill="{PALETTE[0]}"><title>{lo + i * width:.0f}-{lo + (i + 1) * width:.0f} {unit}: {c}</title></rect>')
    body.append(f'<text x="{left}" y="{top + ph + 14}">{lo:.0f} {unit}</text>'
                f'<text x="{left + pw}" y="{top + ph + 14}" text-anchor="end">{hi:.0f} {unit}</text>'
                f'<text x="{left - 4}" y="{top + 10}" text-anchor="end">{top_count}</text>')
    return _frame(w, h, "".join(body), title)
