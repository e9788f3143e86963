"""Memory of streamed data: the driver's peak RSS does not grow with an image folder, a trial's anonymous memory
does not grow with its token file.

    python benchmarks/streaming_memory.py images [--sizes 2000 20000] [--dir /tmp/stream-bench] [--root s3://…]
    python benchmarks/streaming_memory.py tokens [--megabytes 1 100] [--dir /tmp/stream-bench]

images: writes a folder of generated 8x8 PNGs per size (kept for reruns; ``--root`` puts them in a bucket
instead, with the endpoint and credentials from the usual AWS_* variables), then runs ``dl-drawbacks run`` of a
1-worker compute study on it in a fresh process and prints that driver process's peak RSS (``ru_maxrss``).
Target: the two sizes within 100 MB.

tokens: writes ``train.bin`` of each size (uint16) and runs one GPT trial on it in a fresh process, through
``run_worker`` as a 1-worker Tune trial does, sampling that process's RssAnon (anonymous memory: RSS without the
pages of mapped files) every 10 ms; prints its peak growth over the baseline before the trial. Target: the
difference between the sizes under 50 MB.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "support"))

IMAGE_SPEC = """\
name: stream-bench
version: 1
tracking: {{mode: disabled}}
studies:
  - kind: compute
    data: {{name: image_folder, options: {{path: "{path}"}}}}
    model: {{family: mlp, size: xs}}
    trainer:
      micro_batch: 32
      budget: {{steps: 10, eval_every: 10, warmup_steps: 1}}
"""

TOKEN_SPEC = """\
name: token-bench
version: 1
tracking: {{mode: disabled}}
studies:
  - kind: compute
    data: {{name: token_shards, options: {{path: "{path}", vocab_size: 256, seq_len: 64, test_windows: 64}}}}
    model: {{family: gpt, size: nano}}
    trainer:
      micro_batch: 16
      budget: {{steps: 40, eval_every: 40, warmup_steps: 1}}
"""

DRIVER = """\
import resource, sys
from dl_drawbacks.cli import main
code = main(["run", sys.argv[1], "--out", sys.argv[2]])
print("PEAK_RSS_KB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
sys.exit(code)
"""

TRIAL = """\
import json, sys, threading, time
import ray
from anon_memory import rss_anon_bytes
from dl_drawbacks.plan import plan
from dl_drawbacks.spec import load_spec
from dl_drawbacks.train.worker import run_worker

ray.init(address="local", num_cpus=3, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
(trial,) = plan(load_spec(sys.argv[1]))
peak, done = [rss_anon_bytes()], threading.Event()
def sample():
    while not done.wait(0.01):
        peak.append(rss_anon_bytes())
base = rss_anon_bytes()
threading.Thread(target=sample, daemon=True).start()
rows = run_worker(trial, "bench")
done.set()
steps = [v for m, v in zip(rows["metric"], rows["value"]) if m == "steps"]
print("RESULT", json.dumps({"growth_mb": (max(peak) - base) / 2**20, "steps": steps[0]}))
"""


def _mb(kb: int) -> float:
    return kb / 1024


def images(sizes: list[int], work: Path, root: str | None) -> None:
    from image_folders import write_image_folder

    peaks = {}
    for n in sizes:
        folder = f"{root.rstrip('/')}/images-{n}" if root else str(work / f"images-{n}")
        marker = work / f"images-{n}.done"
        if root or not marker.exists():
            write_image_folder(folder, n)
            marker.touch()
        spec = work / f"images-{n}.yaml"
        spec.write_text(IMAGE_SPEC.format(path=folder))
        out = work / f"run-images-{n}"
        subprocess.run(["rm", "-rf", str(out)], check=True)
        done = _run([sys.executable, "-c", DRIVER, str(spec), str(out)])
        line = [x for x in done.stdout.splitlines() if x.startswith("PEAK_RSS_KB")]
        if done.returncode != 0 or not line:
            sys.exit(f"run on {n} images failed:\n{done.stderr[-3000:]}")
        peaks[n] = _mb(int(line[0].split()[1]))
        print(f"driver peak RSS with {n:>6} images: {peaks[n]:7.1f} MB", flush=True)
    print(f"difference {max(peaks.values()) - min(peaks.values()):.1f} MB (target < 100 MB)")


def tokens(megabytes: list[float], work: Path) -> None:
    growth = {}
    for size in megabytes:
        folder = work / f"tokens-{size:g}mb"
        folder.mkdir(parents=True, exist_ok=True)
        n = int(size * 2**20) // 2
        if not (folder / "train.bin").exists() or (folder / "train.bin").stat().st_size != 2 * n:
            np.random.default_rng(0).integers(0, 256, n, dtype=np.uint16).tofile(folder / "train.bin")
            np.random.default_rng(1).integers(0, 256, 64 * 65, dtype=np.uint16).tofile(folder / "val.bin")
        spec = work / f"tokens-{size:g}mb.yaml"
        spec.write_text(TOKEN_SPEC.format(path=folder))
        done = _run([sys.executable, "-c", TRIAL, str(spec)])
        line = [x for x in done.stdout.splitlines() if x.startswith("RESULT")]
        if done.returncode != 0 or not line:
            sys.exit(f"trial on {size:g} MB failed:\n{done.stderr[-3000:]}")
        result = json.loads(line[0].split(" ", 1)[1])
        growth[size] = result["growth_mb"]
        print(f"trial RssAnon growth with a {size:g} MB train.bin: {growth[size]:6.1f} MB "
              f"({result['steps']:g} steps of 16 windows)", flush=True)
    print(f"difference {max(growth.values()) - min(growth.values()):.1f} MB (target < 50 MB)")


def _run(args: list[str], attempts: int = 3) -> subprocess.CompletedProcess:
    """Run a measurement process; retried when Ray's local node misses its fixed 30 s start-up wait (a loaded
    machine), which says nothing about the measurement."""
    for _ in range(attempts):
        done = subprocess.run(args, capture_output=True, text=True, env=_env())
        if "timed out during startup" not in done.stderr:
            break
    return done


def _env() -> dict[str, str]:
    import os

    path = os.pathsep.join([str(ROOT), str(ROOT / "tests" / "support"), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "PYTHONPATH": path, "RAY_AUTH_MODE": os.environ.get("RAY_AUTH_MODE", "disabled")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["images", "tokens"])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 20000], help="images per folder")
    parser.add_argument("--megabytes", type=float, nargs="+", default=[1, 100], help="train.bin sizes")
    parser.add_argument("--dir", type=Path, default=Path("/tmp/stream-bench"))
    parser.add_argument("--root", default=None, help="bucket prefix for the image folders (default: --dir)")
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    if args.what == "images":
        images(args.sizes, args.dir, args.root)
    else:
        tokens(args.megabytes, args.dir)


if __name__ == "__main__":
    main()
