"""Verdicts of a reproduction: each published claim judged on the interval of the finding it names.

The rule is an interval (equivalence) test, never the argmax of means (Schuirmann 1987's two one-sided
tests read as an interval inclusion; Lakens 2017): with a published value p and tolerance t, ours is
*reproduced* when its whole interval lies inside [p − t, p + t], *not reproduced* when the interval lies
wholly outside that band, and *inconclusive* when it straddles an edge or has no interval. A direction
claim ("above 0") is reproduced when the interval excludes ``reference`` on the claimed side, not reproduced
when it excludes it on the other side (or lies inside reference ± tolerance: no effect of that size), and
inconclusive otherwise. Controls are checked first, on their estimates: a claim whose control fails gets
no verdict but "control failed" and the control's reason.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Mapping, Sequence

from ..spec.reproduction import ClaimSpec, ControlSpec, ReproductionSpec

REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE, CONTROL_FAILED = (
    "reproduced", "not reproduced", "inconclusive", "control failed")
VERDICTS = (REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE, CONTROL_FAILED)


@dataclass(frozen=True)
class Ours:
    """Our value of a finding: estimate, interval ends (None when undefined), what it is over, why undefined."""

    estimate: float | None
    low: float | None
    high: float | None
    over: str = ""
    method: str = ""
    reason: str | None = None

    @property
    def defined(self) -> bool:
        return self.low is not None and self.high is not None


@dataclass(frozen=True)
class Verdict:
    """One claim's row of the Reproductions table."""

    claim: str
    published: str
    ours: Ours
    tolerance: str
    verdict: str
    reason: str
    unit: str = ""

    def __post_init__(self) -> None:
        assert self.verdict in VERDICTS, self.verdict

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Verdict":
        return cls(**{**d, "ours": Ours(**d["ours"])})


def lookup(findings: Mapping[str, Any], path: Sequence[str | int]) -> tuple[Any, str | None]:
    """(the node at ``path``, None), or (None, why it is missing: the first key that is not there)."""
    node: Any = findings
    for i, key in enumerate(path):
        where = "/".join(map(str, path[: i + 1]))
        if isinstance(node, Mapping) and "analysis_error" in node:
            return None, f"the analysis of {path[0]} failed: {node['analysis_error']}"
        if isinstance(node, Mapping) and key in node:
            node = node[key]
        elif isinstance(node, list) and isinstance(key, int) and -len(node) <= key < len(node):
            node = node[key]
        else:
            have = f" (reason there: {node['reason']})" if isinstance(node, Mapping) and node.get("reason") else ""
            return None, f"finding {where} not found{have}"
    return node, None


def findings_read(findings: Mapping[str, Any], spec: ReproductionSpec) -> dict[str, Any]:
    """The part of ``findings`` a reproduction reads: the node at every claim's and control's path, under the keys
    that lead to it (list indexes become string keys, so the result is plain JSON; judge it with the paths'
    indexes written as strings)."""
    out: dict[str, Any] = {}
    for path in [c.finding for c in spec.claims] + [c.finding for c in spec.controls]:
        node, missing = lookup(findings, path)
        if missing:
            continue
        here = out
        for key in path[:-1]:
            here = here.setdefault(str(key), {})
        here[str(path[-1])] = node
    return out


def ours_of(findings: Mapping[str, Any], path: Sequence[str | int], *, complement: bool = False) -> Ours:
    """Our value at ``path``: an interval dict (estimate, low, high) or a number; 1 − it when ``complement``
    (the ends swap)."""
    node, missing = lookup(findings, path)
    if missing:
        return Ours(None, None, None, reason=missing)
    if not isinstance(node, (int, float, Mapping)):
        return Ours(None, None, None, reason=f"finding {'/'.join(map(str, path))} is neither an interval nor a number")
    if isinstance(node, (int, float)):  # a bool (a check that passed) reads as 1 or 0
        est, low, high, over, method, reason = float(node), None, None, "", "", "a number without an interval"
    else:
        est, low, high = node.get("estimate"), node.get("low"), node.get("high")
        n = node.get("n") or {}
        over = " × ".join(f"{v} {k.replace('_', ' ')}" for k, v in n.items()) or node.get("over", "")
        method, reason = node.get("method", ""), node.get("reason")
    if complement:
        flip = (lambda x: None if x is None else 1.0 - x)
        est, low, high = flip(est), flip(high), flip(low)
    return Ours(est, low, high, over, method, reason if low is None or high is None else None)


def check_control(control: ControlSpec, findings: Mapping[str, Any]) -> tuple[bool, str]:
    """(passed, what was seen): the control's estimate against its bounds; a missing finding fails it."""
    ours = ours_of(findings, control.finding, complement=control.complement)
    if ours.estimate is None:
        return False, f"{control.name}: not measured ({ours.reason})"
    x = ours.estimate
    if control.at_least is not None and x < control.at_least:
        return False, f"{control.name}: {x:.3g} < {control.at_least:g}" + (f" ({control.why})" if control.why else "")
    if control.at_most is not None and x > control.at_most:
        return False, f"{control.name}: {x:.3g} > {control.at_most:g}" + (f" ({control.why})" if control.why else "")
    return True, f"{control.name}: {x:.3g} passes"


def _band_verdict(ours: Ours, low: float, high: float) -> tuple[str, str]:
    if ours.high < low or ours.low > high:
        return NOT_REPRODUCED, f"interval [{ours.low:.3g}, {ours.high:.3g}] lies outside [{low:.3g}, {high:.3g}]"
    if low <= ours.low and ours.high <= high:
        return REPRODUCED, f"interval [{ours.low:.3g}, {ours.high:.3g}] lies inside [{low:.3g}, {high:.3g}]"
    return INCONCLUSIVE, f"interval [{ours.low:.3g}, {ours.high:.3g}] straddles an edge of [{low:.3g}, {high:.3g}]"


def judge_claim(claim: ClaimSpec, ours: Ours) -> tuple[str, str]:
    """(verdict, reason) of one claim from our interval (controls aside)."""
    if not ours.defined:
        return INCONCLUSIVE, f"no interval: {ours.reason or 'not measured'}"
    if claim.published is not None:
        return _band_verdict(ours, claim.published - claim.tolerance, claim.published + claim.tolerance)
    if claim.tolerance is not None and claim.reference - claim.tolerance <= ours.low and \
            ours.high <= claim.reference + claim.tolerance:  # first: a trivial effect that clears 0 is still none
        return NOT_REPRODUCED, (f"interval [{ours.low:.3g}, {ours.high:.3g}] lies inside {claim.reference:g} ± "
                                f"{claim.tolerance:g}: no effect of that size")
    above = claim.direction == "above"
    if (ours.low > claim.reference) if above else (ours.high < claim.reference):
        return REPRODUCED, (f"interval [{ours.low:.3g}, {ours.high:.3g}] excludes {claim.reference:g}, "
                            f"{claim.direction} it")
    if (ours.high < claim.reference) if above else (ours.low > claim.reference):
        return NOT_REPRODUCED, (f"interval [{ours.low:.3g}, {ours.high:.3g}] excludes {claim.reference:g} on the other "
                                f"side")
    return INCONCLUSIVE, f"interval [{ours.low:.3g}, {ours.high:.3g}] includes {claim.reference:g}"


def published_text(claim: ClaimSpec) -> str:
    if claim.published is not None:
        return f"{claim.published:g}"
    return f"{claim.direction} {claim.reference:g}"


def tolerance_text(claim: ClaimSpec) -> str:
    if claim.published is not None:
        return f"± {claim.tolerance:g}"
    no_effect = f"; ± {claim.tolerance:g} is no effect" if claim.tolerance else ""
    return f"interval excludes {claim.reference:g}{no_effect}"


def judge(spec: ReproductionSpec, findings: Mapping[str, Any]) -> list[Verdict]:
    """Every claim's verdict: its controls first (a failed one replaces the verdict), then its interval test."""
    controls = {c.name: check_control(c, findings) for c in spec.controls}
    out = []
    for claim in spec.claims:
        ours = ours_of(findings, claim.finding, complement=claim.complement)
        failed = [seen for name in (claim.controls if claim.controls is not None else controls)
                  for passed, seen in [controls[name]] if not passed]
        if failed:
            verdict, reason = CONTROL_FAILED, "; ".join(failed)
        else:
            verdict, reason = judge_claim(claim, ours)
        out.append(Verdict(claim.name, published_text(claim), ours, tolerance_text(claim), verdict, reason,
                           claim.unit))
    return out
