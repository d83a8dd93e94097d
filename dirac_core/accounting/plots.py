"""PNG plots of accounting time series: stacked bars per bin, one colour per group, like DIRAC's.

The PNG carries its own description in a ``tEXt`` chunk named ``dirac:plot`` (JSON): the plotted
series, the colour of each group, the axes box in image pixels and the axis limits, so a program
can check that the picture shows the data (tests do, by reading pixel colours).
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

PLOT_KEY = "dirac:plot"
BAR_FRACTION = 0.9  # bar width / bin width; bars start at the bin start
MAX_GROUPS = 12  # more groups are summed into "Others", as DIRAC's plots do
OTHERS = "Others"
PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
    "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939", "#ad494a",
)  # fmt: skip


def _limit_groups(series: Mapping[str, list[float]]) -> dict[str, list[float]]:
    items = list(series.items())  # already ordered by total, largest first
    if len(items) <= MAX_GROUPS:
        return dict(items)
    kept = dict(items[: MAX_GROUPS - 1])
    others = [sum(values) for values in zip(*(v for _k, v in items[MAX_GROUPS - 1 :]), strict=True)]
    kept[OTHERS] = others
    return kept


def render_timeseries(ts: Mapping[str, Any], *, title: str = "", width: int = 900, height: int = 500) -> bytes:
    """A stacked bar PNG of `Reports.timeseries` output."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    dpi = 100
    bins: list[int] = list(ts["bins"])
    granularity = int(ts["granularity"])
    series = _limit_groups(ts["series"])
    colors = {group: PALETTE[i % len(PALETTE)] for i, group in enumerate(series)}

    fig = Figure(figsize=(width / dpi, height / dpi), dpi=dpi)
    ax = fig.add_axes((0.09, 0.12, 0.68, 0.78))
    bottom = [0.0] * len(bins)
    for group, values in series.items():
        ax.bar(
            bins,
            values,
            width=granularity * BAR_FRACTION,
            bottom=bottom,
            align="edge",
            color=colors[group],
            label=group,
            linewidth=0,
            antialiased=False,  # crisp edges: one exact colour per group
        )
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    top = max(bottom, default=0.0)
    ylim = (0.0, top * 1.05 if top > 0 else 1.0)
    xlim = (float(bins[0]) if bins else float(ts["start"]), float(bins[-1] + granularity) if bins else float(ts["end"]))
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=6))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: datetime.fromtimestamp(x, UTC).strftime("%m-%d\n%H:%M")))
    ax.set_ylabel(str(ts["value"]))
    ax.set_title(title or f"{ts['type']}: {ts['value']} by {ts['group_by']} ({granularity // 60} min bins, UTC)")
    if series:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", frameon=False)
    fig.canvas.draw()
    box = ax.get_window_extent()
    described = {
        "type": ts["type"],
        "value": ts["value"],
        "group_by": ts["group_by"],
        "granularity": granularity,
        "bins": bins,
        "series": series,
        "colors": colors,
        "bar_fraction": BAR_FRACTION,
        "xlim": list(xlim),
        "ylim": list(ylim),
        # left, top, right, bottom in image pixels (origin top-left, as image libraries index)
        "axes_px": [box.x0, height - box.y1, box.x1, height - box.y0],
        "size": [width, height],
    }
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=dpi, metadata={PLOT_KEY: json.dumps(described)})
    return out.getvalue()


def read_plot_description(png: bytes) -> dict[str, Any]:
    """The ``dirac:plot`` description embedded by `render_timeseries`."""
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        text = image.info.get(PLOT_KEY)
    if not isinstance(text, str):
        raise ValueError("PNG has no dirac:plot description")
    described: dict[str, Any] = json.loads(text)
    return described
