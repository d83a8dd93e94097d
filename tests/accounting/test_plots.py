"""The PNG plot is a valid image whose bars show the report's series (checked on pixels, not by eye)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from dirac_core.accounting.bucketing import Bucketer
from dirac_core.accounting.datastore import DataStore
from dirac_core.accounting.plots import read_plot_description, render_timeseries
from dirac_core.accounting.reports import ReportQuery, Reports
from dirac_core.db.accountingdb import AccountingDB
from dirac_core.db.engine import make_engine
from tests.wms.conftest import PILOT

from .conftest import SETUP
from .test_records_buckets import job

NOW = 1_800_000_000
HOUR = 3600
H0 = NOW - NOW % HOUR - 6 * HOUR
# (site, hour offset, CPU seconds): three sites, uneven over five hours, one empty hour
JOBS = [
    ("LCG.CERN.ch", 0, 4000),
    ("LCG.CERN.ch", 1, 2500),
    ("LCG.IN2P3.fr", 1, 1500),
    ("LCG.CERN.ch", 2, 1000),
    ("LCG.IN2P3.fr", 2, 1000),
    ("LCG.PIC.es", 2, 2000),
    ("LCG.PIC.es", 4, 3000),
]


@pytest.fixture
def reports(tmp_path: Path) -> Iterator[Reports]:
    db = AccountingDB(make_engine(f"sqlite:///{tmp_path / 'acc.sqlite'}"))
    db.create_tables()
    store = DataStore(db, SETUP)
    store.register_types()
    records = [
        job(Site=site, CPUTime=cpu, startTime=H0 + hour * HOUR + 60, endTime=H0 + hour * HOUR + 600)
        for site, hour, cpu in JOBS
    ]
    store.commit(PILOT, "Job", records)
    Bucketer(db, clock=lambda: NOW).run_once()
    yield Reports(db, SETUP)
    db.engine.dispose()


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    return int(hex_colour[1:3], 16), int(hex_colour[3:5], 16), int(hex_colour[5:7], 16)


def _close(a: tuple[int, ...], b: tuple[int, ...], tolerance: int = 6) -> bool:
    return all(abs(x - y) <= tolerance for x, y in zip(a[:3], b[:3], strict=True))


def test_plot_pixels_show_the_report(reports: Reports) -> None:
    query = ReportQuery("Job", "site", H0, H0 + 6 * HOUR)
    ts = reports.timeseries(query, "CPUTime")
    png = render_timeseries(ts)

    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    Image.open(io.BytesIO(png)).verify()
    image = Image.open(io.BytesIO(png)).convert("RGB")
    assert image.size == (900, 500)

    # The embedded series are the DB's: per-site totals equal the summary report's.
    described = read_plot_description(png)
    totals = {r["Site"]: r["CPUTime"] for r in reports.summary(query)["rows"]}
    assert totals == {"LCG.CERN.ch": 7500, "LCG.IN2P3.fr": 2500, "LCG.PIC.es": 5000}
    assert {site: sum(values) for site, values in described["series"].items()} == totals
    assert described["bins"] == ts["bins"] == [H0 + i * HOUR for i in range(6)]

    # Pixels: positions from the axes box and limits, values from the report (not from the PNG).
    left, top, right, bottom = described["axes_px"]
    (x_min, x_max), (y_min, y_max) = described["xlim"], described["ylim"]

    def pixel(x: float, y: float) -> tuple[int, int]:
        px = left + (x - x_min) / (x_max - x_min) * (right - left)
        py = bottom - (y - y_min) / (y_max - y_min) * (bottom - top)
        return round(px), round(py)

    white = (255, 255, 255)
    three_px = 3 * (y_max - y_min) / (bottom - top)
    checked = 0
    for index, bin_start in enumerate(ts["bins"]):
        x = bin_start + HOUR * described["bar_fraction"] / 2
        stacked = 0.0
        for site, values in ts["series"].items():
            value = values[index]
            if value:
                # just inside the bottom edge, the middle and just inside the top edge of the segment
                for y in (stacked + three_px, stacked + value / 2, stacked + value - three_px):
                    colour = image.getpixel(pixel(x, y))
                    assert _close(colour, _rgb(described["colors"][site])), (site, index, y, colour)
                checked += 1
            stacked += value
        above = image.getpixel(pixel(x, stacked + three_px))
        assert _close(above, white), (index, above)  # nothing drawn above the stack: heights are right
    assert checked == len(JOBS)  # every (site, hour) segment was looked at
    empty_hour = image.getpixel(pixel(H0 + 3 * HOUR + HOUR * 0.45, (y_max - y_min) * 0.1))
    assert _close(empty_hour, white)


def test_number_of_jobs_plot_and_no_data(reports: Reports) -> None:
    ts = reports.timeseries(ReportQuery("Job", "status", H0, H0 + 6 * HOUR))
    assert ts["series"] == {"Done": [1, 2, 3, 0, 1, 0]}
    Image.open(io.BytesIO(render_timeseries(ts))).verify()
    empty = reports.timeseries(ReportQuery("Job", "site", H0 - 100 * HOUR, H0 - 90 * HOUR))
    assert empty["series"] == {}
    Image.open(io.BytesIO(render_timeseries(empty))).verify()


def test_long_ranges_get_wider_bins(reports: Reports) -> None:
    ts = reports.timeseries(ReportQuery("Job", "site", H0 - 1000 * HOUR, H0 + 1000 * HOUR), "CPUTime")
    assert len(ts["bins"]) <= 400 and ts["granularity"] % HOUR == 0 and ts["granularity"] > HOUR
    assert {site: sum(v) for site, v in ts["series"].items()} == {
        "LCG.CERN.ch": 7500,
        "LCG.IN2P3.fr": 2500,
        "LCG.PIC.es": 5000,
    }
