"""Cost of layered configuration: the file:line locator and validation, against diraccfg's bare parse.

Run: .venv/bin/python bench/config_layers.py [repeat]
Prints absolute times and ratios to the baseline (diraccfg.CFG.loadFromBuffer of the same files).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

from diraccfg import CFG

from dirac_core.config.layers import LayeredConfig
from dirac_core.config.locator import locate, parse_cfg
from dirac_core.config.validate import validate

EXAMPLES = Path(__file__).resolve().parent.parent / "etc" / "examples"
FILES = [EXAMPLES / name for name in ("shared.cfg", "egi.cfg", "host.cfg")]


def timed(func: Callable[[], object], repeat: int) -> float:
    """Seconds per call, after one warm-up call."""
    func()
    start = time.perf_counter()
    for _ in range(repeat):
        func()
    return (time.perf_counter() - start) / repeat


def main() -> None:
    repeat = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    texts = [path.read_text() for path in FILES]
    lines = sum(len(text.splitlines()) for text in texts)

    def bare() -> None:
        for text in texts:
            CFG().loadFromBuffer(text)

    def locator_only() -> None:
        for path, text in zip(FILES, texts, strict=True):
            locate(text, str(path))

    def parse_located() -> None:
        for path, text in zip(FILES, texts, strict=True):
            parse_cfg(text, str(path))

    def load_merge() -> None:
        LayeredConfig.load(FILES).merged_cfg()

    layered = LayeredConfig.load(FILES)

    def validate_only() -> None:
        validate(layered)

    baseline = timed(bare, repeat)
    print(f"EGI layer set: {len(FILES)} files, {lines} lines, {repeat} repetitions")
    print(f"{'diraccfg parse (baseline)':<34} {baseline * 1e3:8.3f} ms  1.00x")
    for label, func in [
        ("locator alone", locator_only),
        ("parse_cfg (diraccfg + locator)", parse_located),
        ("LayeredConfig.load + merge", load_merge),
        ("validate (schema, merged)", validate_only),
    ]:
        value = timed(func, repeat)
        print(f"{label:<34} {value * 1e3:8.3f} ms  {value / baseline:5.2f}x")


if __name__ == "__main__":
    main()
