"""Every `dl-drawbacks` command in k8s/README.md is one the CLI accepts, and every `k8s render` there writes
manifests that `k8s validate` passes: the platform engineer's path cannot drift from the code."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml

from dl_drawbacks.cli import build_parser, main
from dl_drawbacks.k8s.validate import PACKAGED_CRDS, check_manifest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "k8s" / "README.md"
SHELL_BLOCK = re.compile(r"```bash\n(.*?)```", re.S)
SEPARATORS = {"|", "&", "&&", ";", ">", "2>"}


def readme_commands() -> list[list[str]]:
    """The argv of each `dl-drawbacks ...` in the README's bash blocks (continuations joined, comments,
    pipes and redirections cut off)."""
    commands = []
    for block in SHELL_BLOCK.findall(README.read_text()):
        for line in block.replace("\\\n", " ").splitlines():
            segment: list[str] = []
            for word in [*shlex.split(line, comments=True), ";"]:
                if word not in SEPARATORS:
                    segment.append(word)
                    continue
                if segment[:1] == ["dl-drawbacks"]:  # a command, not a word such as a Secret's name
                    commands.append(segment[1:])
                segment = []
    return commands


COMMANDS = readme_commands()
RENDERS = [c for c in COMMANDS if c[:2] == ["k8s", "render"]]


def test_the_readme_walks_the_whole_path():
    verbs = {" ".join(c[:2]) for c in COMMANDS}
    assert {"k8s render", "k8s validate", "job logs", "job status", "job submit", "job list"} <= verbs
    assert any("--out" in c and c[c.index("--out") + 1].startswith("s3://") and "--spec-from-configmap" in c
               for c in RENDERS)
    assert any("--follow" in c for c in COMMANDS if c[:2] == ["job", "logs"])
    assert any("--resume" in c for c in COMMANDS if c[:2] == ["job", "submit"])


@pytest.mark.parametrize("argv", COMMANDS, ids=" ".join)
def test_every_readme_command_parses(argv):
    args = build_parser().parse_args(argv)  # a usage mistake exits 2 (SystemExit) and fails the test
    assert callable(args.func)


@pytest.mark.parametrize("argv", RENDERS, ids=" ".join)
def test_every_readme_render_writes_manifests_that_validate(argv, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    if "-o" in argv:
        argv = argv[:argv.index("-o")] + argv[argv.index("-o") + 2:]
    out = tmp_path / "rendered.yaml"
    assert main([*argv, "-o", str(out)]) == 0, capsys.readouterr().err
    docs = [d for d in yaml.safe_load_all(out.read_text()) if d is not None]
    assert docs[-1]["kind"] == "RayJob" and len(docs) == 1 + ("--spec-from-configmap" in argv)
    for doc in docs:
        assert check_manifest(doc) == ("ok", [])
    entrypoint = shlex.split(docs[-1]["spec"]["entrypoint"])
    assert "--resume" in entrypoint
    if "--out" in argv:
        assert entrypoint[entrypoint.index("--out") + 1] == argv[argv.index("--out") + 1]


def test_the_readme_installs_the_operator_release_the_crds_come_from():
    notice = (PACKAGED_CRDS / "NOTICE.md").read_text()
    (release,) = set(re.findall(r"snapshot of\s+v(\d+\.\d+)\.", notice))
    assert f"kuberay/kuberay-operator --version {release}." in README.read_text()


def test_the_readme_creates_the_secrets_the_pods_read():
    from dl_drawbacks.k8s.volumes import BUCKET_ENV, BUCKET_SECRET

    text = README.read_text().replace("\\\n", " ")
    (line,) = [t for t in text.splitlines() if f"create secret generic {BUCKET_SECRET}" in t]
    assert all(f"--from-literal={name}=" in line for name in BUCKET_ENV)
    assert "kubectl create secret generic dl-drawbacks-wandb --from-literal=api-key=" in text
