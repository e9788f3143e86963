"""Property-based: random argument lists and random files (binary, empty, huge, not UTF-8, YAML that is
almost a spec, an alias bomb) for every command. Whatever comes in, the CLI exits 0, 1, 2 or 130, never
shows a traceback, writes at most one bounded line to stderr and changes no file that was already in the
folder it was pointed at. Every input fails before Ray starts (junk specs, dead addresses), so no Ray
cluster is started here (asserted)."""

from __future__ import annotations

import tempfile
from unittest import mock
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dl_drawbacks.cli import main

DEAD_RAY = "127.0.0.1:1"  # nothing listens: `run` stops at the connect probe, before ray.init
DEAD_JOBS = "http://127.0.0.1:9"
VALID_SPEC = "name: fuzz\nversion: 1\ntracking: {mode: disabled}\nstudies: [{kind: compute, trainer: {budget: {steps: 2}}}]\n"
BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [{', '.join([f'*{p}'] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi")) + "name: x\nversion: 1\nstudies: *i\n"

contents = st.one_of(
    st.just(b""),
    st.binary(max_size=300),
    st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.just(b"\xff\xfe\x00bad utf-8 \x80\n"),
    st.just(b"name: big\n" + b"# padding\n" * 200_000),  # ~2 MB
    st.just(BOMB.encode()),
    st.sampled_from([VALID_SPEC.replace("steps: 2", "steps: true"), VALID_SPEC.replace("studies: [", "seeds: [0, 0]\nstudies: ["),
                     VALID_SPEC.replace("name: fuzz", "name: ../escaped"), VALID_SPEC.replace("steps: 2", "steps: 1e22"),
                     VALID_SPEC.replace("[{kind: compute", "[{seeds: [-1], kind: compute"), "[1, 2]\n", "a: [\n"]).map(str.encode),
)
# a folder the command is pointed at: the files in it must come out unchanged
folders = st.dictionaries(st.sampled_from(["spec.yaml", "env.json", "findings.json", "report.md", "trials/t/trial.json",
                                           "notes.txt", "rayjob.yaml"]), contents, max_size=4)
flags = st.sampled_from(["--out", "--resume", "--address", "--publish", "-o", "--token-file", "--follow", "--env",
                         "--runtime-env-json", "--workers", "--name", "--crd-dir", "--spec-from-configmap", "--help-me",
                         "-x", ""])
words = st.one_of(flags, st.text(max_size=12), st.sampled_from(["FILE", "DIR", "DIR/x", "DIR/report.md", "/", "-1", "1e9"]))
COMMANDS = [["list"], ["plan", "FILE"], ["run", "FILE", "--out", "DIR", "--address", DEAD_RAY],
            ["run", "FILE", "--out", "DIR", "--resume", "--address", DEAD_RAY], ["analyze", "DIR"], ["wandb-report", "DIR"],
            ["k8s", "render", "FILE", "-o", "DIR/rayjob.yaml"], ["k8s", "validate", "FILE"],
            ["submit", "FILE", "--address", DEAD_JOBS, "--token-file", "FILE"], ["status", "j", "--address", DEAD_JOBS],
            ["logs", "j", "--address", DEAD_JOBS], ["stop", "j", "--address", DEAD_JOBS],
            ["job", "submit", "FILE", "--address", DEAD_JOBS, "--resume", "--out", "s3://b/p"],
            ["job", "list", "--address", DEAD_JOBS], ["job", "logs", "j", "--address", DEAD_JOBS, "--follow"],
            ["k8s", "render", "FILE", "--spec-from-configmap", "--out", "s3://b/p", "-o", "DIR/rayjob.yaml"], []]


def _snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mode) for p in folder.rglob("*") if p.is_file()}


class _RayReached(Exception):
    """Raised in place of connecting to Ray: no fuzzed input may get that far."""


def _check(argv: list[str], file_bytes: bytes, folder_files: dict[str, bytes], capsys) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        spec = root / "studies" / "input.yaml"  # under studies/ so `k8s render` reaches the spec check
        spec.parent.mkdir()
        spec.write_bytes(file_bytes)
        folder = root / "target"
        folder.mkdir()
        for name, data in folder_files.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_bytes(data)
        before = _snapshot(folder)
        args = [a.replace("FILE", str(spec)).replace("DIR", str(folder)) for a in argv]
        capsys.readouterr()
        with mock.patch("dl_drawbacks.cluster.connect", side_effect=_RayReached) as connect:
            try:
                code = main(args)
            except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
                code = exc.code
        assert not connect.called, (args, "a fuzzed command reached Ray (cluster.connect)")
        err = capsys.readouterr().err
        assert code in (0, 1, 2, 130), (args, code, err)
        assert "Traceback" not in err, (args, err)
        assert err.count("\n") <= 1 and len(err) <= 1000, (args, err)
        after = _snapshot(folder)
        assert {k: after.get(k) for k in before} == before, (args, "a file in the target folder changed")


FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                        HealthCheck.too_slow, HealthCheck.data_too_large])


@FUZZ
@given(command=st.sampled_from(COMMANDS), file_bytes=contents, folder_files=folders)
def test_every_command_with_random_files(command, file_bytes, folder_files, capsys):
    _check(command, file_bytes, folder_files, capsys)


@FUZZ
@given(command=st.sampled_from(COMMANDS), extra=st.lists(words, max_size=5), file_bytes=contents,
       folder_files=folders)
def test_random_argument_lists(command, extra, file_bytes, folder_files, capsys):
    argv = command[:1] + extra + command[1:] if command else extra
    if argv[:1] == ["run"] and "--address" not in extra:  # never a local cluster: only the dead address
        argv = argv + ["--address", DEAD_RAY]
    _check(argv, file_bytes, folder_files, capsys)


def test_the_valid_spec_into_a_foreign_folder_is_refused_unchanged(tmp_path, capsys):
    """Acceptance: a good spec, --resume, a folder holding someone's report.md and no spec.yaml: exit 2, unchanged."""
    spec = tmp_path / "s.yaml"
    spec.write_text(VALID_SPEC)
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "report.md").write_text("# my notes\n")
    for resume in ([], ["--resume"]):
        assert main(["run", str(spec), "--out", str(folder), *resume]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "not a dl-drawbacks run (no spec.yaml: report.md)" in err
        assert sorted(p.name for p in folder.iterdir()) == ["report.md"]
        assert (folder / "report.md").read_text() == "# my notes\n"
