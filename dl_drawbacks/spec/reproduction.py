"""The ``reproduces:`` block of a spec: which published result this spec reruns, and how it is judged.

A reproduction names the paper, then one claim per published number or direction. Each claim points at
one of our findings (a key path into ``findings.json`` that ends at an interval) and says the tolerance
judged fair for this budget; each control points at a finding the reproduction needs to hold (the
network fits its training set, the clean model is in the paper's regime) before any claim is judged.
The verdict logic is ``dl_drawbacks.reproduce.verdict``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator

FindingPath = list[str | int]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class PaperSpec(_Strict):
    authors: str = Field(description="the paper's authors as cited ('Greydanus', 'Zhang, Bengio, Hardt, Recht, Vinyals')")
    year: StrictInt = Field(ge=1900, le=2100, description="year of publication")
    title: str = Field("", description="the paper's title")
    where: str = Field(description="the table or figure reproduced ('Table 1', 'Fig. 1a')")


class ClaimSpec(_Strict):
    name: str = Field(description="what is compared, in a few words ('CNN test accuracy')")
    finding: FindingPath = Field(
        min_length=2,
        description="key path into findings.json ([study kind, key, ..., list index]) ending at an interval "
        "(estimate, low, high) or a number",
    )
    published: float | None = Field(None, description="the paper's value (exclusive with direction)")
    direction: Literal["above", "below"] | None = Field(
        None, description="the paper's claim as a direction: ours lies above / below `reference` (exclusive with published)"
    )
    reference: float = Field(0.0, description="the value a direction claim is tested against (0 for a difference)")
    tolerance: float | None = Field(
        None,
        gt=0,
        description="published ± tolerance is the band ours must lie in (required with published); with a "
        "direction: an interval inside reference ± tolerance shows no effect (not reproduced)",
    )
    complement: bool = Field(False, description="ours is 1 − the finding (an accuracy from an error rate)")
    unit: str = Field("", description="unit of the published value and of ours")
    controls: list[str] | None = Field(
        None, description="names of the controls this claim needs (default: every control of the reproduction)"
    )

    @model_validator(mode="after")
    def _one_claim(self) -> "ClaimSpec":
        if (self.published is None) == (self.direction is None):
            raise ValueError("give exactly one of published (a value) or direction (above / below reference)")
        if self.published is not None and self.tolerance is None:
            raise ValueError("a published value needs its tolerance (the band ours must lie in)")
        return self


class ControlSpec(_Strict):
    name: str = Field(description="the control's name ('CNN fits its training set')")
    finding: FindingPath = Field(min_length=2, description="key path into findings.json ending at an interval or a number")
    at_least: float | None = Field(None, description="the control passes when the finding's estimate is ≥ this")
    at_most: float | None = Field(None, description="the control passes when the finding's estimate is ≤ this")
    complement: bool = Field(False, description="check 1 − the finding (an accuracy from an error rate)")
    why: str = Field("", description="what a failure means for the reproduction, in one sentence")

    @model_validator(mode="after")
    def _a_bound(self) -> "ControlSpec":
        if self.at_least is None and self.at_most is None:
            raise ValueError("a control needs at_least or at_most")
        return self


class ReproductionSpec(_Strict):
    paper: PaperSpec = Field(description="the paper whose result this spec reruns")
    claims: list[ClaimSpec] = Field(min_length=1, description="the published values or directions, each judged apart")
    controls: list[ControlSpec] = Field(
        default_factory=list, description="checks that must pass before a claim is judged (else: control failed)"
    )
    deviations: str = Field("", description="where this spec departs from the paper's setup, in a sentence or two")

    @model_validator(mode="after")
    def _known_controls(self) -> "ReproductionSpec":
        names = [c.name for c in self.controls]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"control name(s) {', '.join(repeated)} repeated")
        claims = [c.name for c in self.claims]
        if len(set(claims)) < len(claims):
            raise ValueError("claim names must be distinct")
        for claim in self.claims:
            unknown = sorted(set(claim.controls or []) - set(names))
            if unknown:
                raise ValueError(f"claim {claim.name!r}: unknown control(s) {', '.join(unknown)}; known: "
                                 f"{', '.join(names) or 'none'}")
        return self
