"""`dl-drawbacks card RUN_DIR [RUN_DIR…] -o card.html`: the drawback card of one or more run folders, side by side."""

from __future__ import annotations

import argparse
from pathlib import Path


def _card(args: argparse.Namespace) -> int:
    from ..report.card import build_card, coverage
    from ..report.card_render import card_page
    from ..storage.files import atomic_write_bytes

    columns = build_card(args.run_dirs)
    out = Path(args.output)
    title = f"Drawback card — {', '.join(map(str, args.run_dirs))}"
    atomic_write_bytes(out, card_page(columns, title=title).encode())
    filled, possible = coverage(columns)
    print(f"{out}: {filled} of {possible} cells filled")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("card", help="the drawback card of run folders side by side, as one offline HTML file")
    p.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="run folders (local) analysed by run/analyze")
    p.add_argument("-o", "--output", default="card.html", help="HTML file to write (default card.html)")
    p.set_defaults(func=_card)
