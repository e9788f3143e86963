"""The compute study's card flags: timing dominated by overhead (share outside steady-state steps; the affine
fit's t0) or by host load, each both ways."""

from __future__ import annotations

from dl_drawbacks.studies.base import get_kind
from dl_drawbacks.studies.compute.timing_flags import timing_flags


def _findings(steady_shares, *, t0_share=0.1, above=()):
    table = [{"trial_id": f"t{i}", "family": "mlp", "time_steady": share * 10.0, "train_time": 10.0}
             for i, share in enumerate(steady_shares)]
    table.append({"trial_id": "c0", "family": "cnn", "time_steady": 1.0, "train_time": 10.0})
    return {"table": table, "scaling_with_parameters": {"mlp": {"affine": {"overhead_share_smallest": t0_share}}},
            "host_load": {"max_load_per_cpu": 1.0, "above": list(above)}}


def test_work_dominated_timing_on_a_quiet_host_has_no_flag():
    assert timing_flags(_findings([0.9, 0.8, 0.3]), "mlp") == ()


def test_overhead_flags_follow_the_median_share_and_t0():
    flags = timing_flags(_findings([0.2, 0.3, 0.9], t0_share=0.8), "mlp")
    assert flags == ("timing dominated by overhead: median 0.7 of training time outside steady-state steps, "
                     "over 3 trials", "step time dominated by fixed overhead: t0 is 0.8 of the smallest model's step")
    assert timing_flags(_findings([0.9, 0.9, 0.9]), "cnn")[0].startswith("timing dominated by overhead: median 0.9")


def test_host_load_flag_says_dominated_only_when_most_trials_were_loaded():
    assert timing_flags(_findings([0.9, 0.9, 0.9], above=["t0", "t1", "c0"]), "mlp") == (
        "timing dominated by host load: 2 of 3 trials ran above 1 load per CPU",)
    assert timing_flags(_findings([0.9, 0.9, 0.9], above=["t0", "c0"]), "mlp") == (
        "timing partly under host load: 1 of 3 trials ran above 1 load per CPU",)
    assert get_kind("compute").card_flags(_findings([0.9], above=["c0"]), "cnn")[-1].startswith("timing dominated")
    assert get_kind("data").card_flags({}, "mlp") == ()  # a study without timing flags declares none
