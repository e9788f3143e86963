"""The prejudice remover swept over its penalty η, each η judged against η = 0 of the same model (paired by seed
and test sample), never against the network: at η = 0 it is its own logistic regression."""

from __future__ import annotations

from typing import Any

from .settings import Setting, is_natural, prejudice_eta
from .sweeps import mitigation_row

PREJUDICE_REFERENCE = (
    "Kamishima et al. 2012 (aif360's PrejudiceRemover): logistic regression plus η × a mutual-information "
    "penalty between prediction and group; at η = 0 it is that logistic regression alone, so each η is compared "
    "with η = 0 of the same model on the same data and test samples (paired), never with the network"
)


def prejudice_remover_sweep(settings: dict[tuple, Setting], r: int, primary: str) -> dict[str, Any]:
    """Per protected × share: every η's accuracy and parity metrics, and its paired change against η = 0."""
    out = {}
    groups: dict[tuple, list[tuple[float, Setting]]] = {}
    for k, s in settings.items():
        eta = prejudice_eta(k[2])
        if eta is not None and not k[3]:
            groups.setdefault((k[0], None if is_natural(k[1]) else k[1]), []).append((eta, s))
    for (protected, share), found in groups.items():
        found.sort(key=lambda x: x[0])
        reference = next((s for eta, s in found if eta == 0 and s.samples), None)
        rows = []
        for eta, s in found:
            row = {"eta": eta, **mitigation_row(reference or s, s, r, primary)}  # s is its own base: no change
            if row.get("distance_reduction"):
                low, high = row["distance_reduction"]["interval95"]
                row["verdict"] = (
                    "not measurable" if low is None else "closer to parity than η = 0" if low > 0
                    else "further from parity than η = 0" if high < 0 else "no measurable change from η = 0"
                )
            rows.append(row)
        label = f"{protected} @ {'natural share' if share is None else f'share {share}'}"
        out[label] = {
            "protected": protected,
            "unprivileged_share": share,
            "reference": "eta=0" if reference is not None else None,
            "reference_reason": None if reference is not None else "no η = 0 trial recorded test samples: not compared",
            "method": PREJUDICE_REFERENCE,
            "table": rows,
        }
    return out
