"""Why an option has its value: the winning layer and line, and what it overrode."""

from __future__ import annotations

from dataclasses import dataclass

from dirac_core.config.diff import shown
from dirac_core.config.layers import LayeredConfig, Setting
from dirac_core.errors import NotFound


@dataclass(frozen=True)
class Explanation:
    path: str
    winner: Setting | None  # None for a section
    overridden: tuple[Setting, ...]
    sections: tuple[tuple[str, str], ...]  # (layer, "file:line") for a section path

    def lines(self) -> list[str]:
        if self.winner is None:
            out = [f"{self.path} is a section, defined in:"]
            out += [f"  {layer:<12} {where}" for layer, where in self.sections]
            return out
        win = self.winner
        out = [f"{self.path} = {shown(self.path, win.value)}", f"  set by layer {win.layer} at {win.location or '?'}"]
        out += [f"  appended at {where}" for where in win.appends]
        if self.overridden:
            out.append("  overrides:")
            out += [
                f"    {s.layer:<12} {s.location or '?'}  = {shown(self.path, s.value)}"
                for s in reversed(self.overridden)
            ]
        else:
            out.append("  overrides nothing (no lower layer sets it)")
        return out

    def as_dict(self) -> dict[str, object]:
        def setting(s: Setting) -> dict[str, object]:
            return {
                "layer": s.layer,
                "value": shown(self.path, s.value),
                "file": s.location.file if s.location else None,
                "line": s.location.line if s.location else None,
            }

        if self.winner is None:
            return {"path": self.path, "section": True, "layers": [{"layer": n, "at": w} for n, w in self.sections]}
        return {
            "path": self.path,
            "value": shown(self.path, self.winner.value),
            "winner": setting(self.winner),
            "overridden": [setting(s) for s in reversed(self.overridden)],
        }


def explain(layered: LayeredConfig, path: str) -> Explanation:
    path = "/" + path.strip("/")
    settings = layered.settings(path)
    if settings:
        return Explanation(path, settings[-1], tuple(settings[:-1]), ())
    sections = layered.section_locations(path)
    if sections:
        return Explanation(path, None, (), tuple((name, str(where or "?")) for name, where in sections))
    names = ", ".join(p.layer.name for p in layered.layers)
    raise NotFound(f"{path} is not set in any layer ({names}): check the path, e.g. with dirac-core config show")
