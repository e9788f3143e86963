"""Whether a spec only extends a run folder's spec (more seeds, more sweep values), so `--resume` may keep every
finished trial (a trial's id hashes its own settings and seed, never its neighbours') and run only the new ones."""

from __future__ import annotations

from typing import Any


def _where(path: tuple) -> str:
    text = "".join(f"[{p}]" if isinstance(p, int) else ("." if i else "") + str(p) for i, p in enumerate(path))
    return text or "<top>"


def _extends_list(old: list, new: list, *, ordered: bool) -> bool:
    """Seeds and product axes may gain values anywhere; zip axes only at the end (their i-th values go together)."""
    if ordered:
        return new[: len(old)] == old
    return all(v in new for v in old)


def extension_difference(old: Any, new: Any, path: tuple = ()) -> str | None:
    """None when ``new`` equals ``old`` but for added seeds (``studies[i].seeds``) and added sweep values
    (``studies[i].sweeps[j].axes.<setting>``); else the key path of the first other difference."""
    if isinstance(old, dict) and isinstance(new, dict):
        if old.keys() != new.keys():
            return _where(path + (sorted(old.keys() ^ new.keys())[0],))
        in_sweep = len(path) >= 2 and path[-2] == "sweeps"
        for key in old:
            if key == "axes" and in_sweep and isinstance(old[key], dict) and isinstance(new[key], dict):
                if old[key].keys() != new[key].keys():
                    return _where(path + (key,))
                for axis, values in old[key].items():
                    if not _extends_list(values, new[key][axis], ordered=old.get("mode") == "zip"):
                        return _where(path + (key, axis))
                continue
            if key == "seeds" and path[:1] == ("studies",) and len(path) == 2:
                if not _extends_list(old[key], new[key], ordered=False):
                    return _where(path + (key,))
                continue
            found = extension_difference(old[key], new[key], path + (key,))
            if found:
                return found
        return None
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for i, (a, b) in enumerate(zip(old, new)):
            found = extension_difference(a, b, path + (i,))
            if found:
                return found
        return None
    return None if old == new else _where(path)
