"""Headlines: the one policy that decides what a study may claim in its summary line, and the typed result.

A headline is *resolved* only when its test resolves it: its interval is defined and, where the claim is
a difference from a null value (0 for a gain or a gap, 1 for a ratio), the interval excludes that value;
a verdict headline is resolved when its verdict is. Otherwise it says "not resolved: <reason>" and prints
no number. Its label (measured, interpolated, extrapolated, fitted, estimate) is earned by the data: the
study passes the label its analysis found (e.g. a target no anchor reaches is never "interpolated").
Every study builds its headlines with ``from_interval``, ``from_verdict`` or ``not_measurable``. The analysis
pass calls each study's ``headlines`` hook once and the run folder keeps them (``RunFolder.write_headlines``,
one ``record()`` each); report, card, compare and W&B read them back (``from_record``) and render
``Headline.to_dict()`` alike (the dict keeps the summary-table keys: finding, value, interval, unit, over,
provenance, reason). No consumer calls a study kind for its headlines.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Mapping

LABELS = ("measured", "interpolated", "extrapolated", "fitted", "estimate")
VERDICT_ONLY = "a verdict (in the finding), not a number"


@dataclass(frozen=True)
class Headline:
    """One summary line of a study: ``text`` with its estimate and interval, resolved or with the reason why not."""

    study: str
    key: str
    text: str
    estimate: float | None
    interval: tuple[float, float] | None
    unit: str
    label: str
    resolved: bool
    reason: str | None = None  # why it is not resolved, or the caveat a resolved headline carries
    over: str = ""
    method: str = ""

    def __post_init__(self) -> None:
        assert self.label in LABELS, self.label
        assert self.resolved or self.reason, f"{self.key}: an unresolved headline says why"

    @property
    def not_resolved(self) -> str:
        """'not resolved: <reason>' (or the reason itself when it already says 'not measurable' / 'not resolved')."""
        reason = self.reason or ""
        return reason if reason.startswith(("not measurable", "not resolved")) else f"not resolved: {reason}"

    def record(self) -> dict[str, Any]:
        """Every field, as the run folder stores it (``from_record`` reads it back)."""
        out = asdict(self)
        out["interval"] = list(self.interval) if self.interval is not None else None
        return out

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> "Headline":
        """The headline ``record()`` stored (an unknown or missing field raises TypeError)."""
        interval = record.get("interval")
        return cls(**{**record, "interval": tuple(interval) if interval is not None else None})

    def to_dict(self) -> dict[str, Any]:
        shown = self.resolved
        return {
            "study": self.study,
            "key": self.key,
            "finding": self.text if shown else f"{self.text} — {self.not_resolved}",
            "value": self.estimate if shown else None,
            "interval": list(self.interval) if shown and self.interval else None,
            "unit": self.unit,
            "over": self.over,
            "provenance": self.label + (f", {self.method}" if self.method else ""),
            "label": self.label,
            "resolved": self.resolved,
            "reason": self.reason if self.reason or self.estimate is not None else VERDICT_ONLY,
            "point": self.estimate,  # resolved or not; `compare` pairs one seed's points, nothing prints them
        }


def resolution(interval: Mapping[str, Any] | None, *, null: float | None = None) -> tuple[bool, str | None]:
    """(resolved, reason) of an ``Interval.to_dict()``: defined, and excluding ``null`` when one is given;
    a resolved zero-width interval keeps its caveat as the reason."""
    if not interval or interval.get("low") is None or interval.get("high") is None:
        return False, (interval or {}).get("reason") or "no interval"
    low, high = interval["low"], interval["high"]
    if null is not None and low <= null <= high:
        return False, f"its {interval.get('level', 0.95):.0%} interval [{low:.3g}, {high:.3g}] includes {null:g}"
    return True, interval.get("reason")


def from_interval(
    study: str,
    key: str,
    text: str,
    interval: Mapping[str, Any] | None,
    *,
    unit: str,
    label: str = "measured",
    null: float | None = None,
    estimate: float | None = None,
    method: str = "",
    requires: tuple[bool, str] | None = None,
) -> Headline:
    """A headline read from an interval (see ``resolution``); ``requires``: (holds, reason) of a precondition
    the claim needs besides its interval (a planted model that uses its patch, a family that passed)."""
    resolved, reason = resolution(interval, null=null)
    if requires is not None and not requires[0]:  # the precondition is the first reason
        resolved, reason = False, requires[1]
    iv = interval or {}
    defined = iv.get("low") is not None and iv.get("high") is not None
    return Headline(study, key, text, iv.get("estimate") if estimate is None else estimate,
                    (iv["low"], iv["high"]) if defined else None, unit, label, resolved, reason,
                    _over(iv), method or iv.get("method", ""))


def from_verdict(study: str, key: str, text: str, *, resolved: bool, reason: str | None, label: str = "measured",
                 method: str = "") -> Headline:
    """A verdict (no number): resolved when its test is."""
    return Headline(study, key, text, None, None, "", label, resolved, reason, "", method)


def not_measurable(study: str, key: str, text: str, reason: str) -> Headline:
    return Headline(study, key, text, None, None, "", "measured", False, f"not measurable: {reason}"
                    if not reason.startswith("not measurable") else reason)


def _over(iv: Mapping[str, Any]) -> str:
    n = iv.get("n") or {}
    return " × ".join(f"{v} {k.replace('_', ' ')}" for k, v in n.items()) or iv.get("over", "")


def as_dicts(headlines: list[Headline]) -> list[dict[str, Any]]:
    return [h.to_dict() for h in headlines]
