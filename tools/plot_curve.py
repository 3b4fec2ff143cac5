"""Plot accuracy against training images seen from one or more metrics.jsonl files (PNG, matplotlib).

    python tools/plot_curve.py runs/metrics.jsonl --output docs/learning_curve.png --title "IIIT5K, rendered words"
    python tools/plot_curve.py runs/cpu1/metrics.jsonl runs/cpu2/metrics.jsonl@128000 ...   # cpu2 fine-tunes cpu1
    python tools/plot_curve.py old=docs/curves/old_chain.jsonl new=stage1/curve.jsonl new=stage2/curve.jsonl@193920 \
        --dataset iiit5k,ic15 --output chains.png    # two chains side by side: one line per chain and set
    python tools/plot_curve.py old=docs/curves/old_chain.jsonl new=docs/curves/new_chain.jsonl --x rendered,real \
        --output split.png                           # one panel per count: rendered words and real crops apart
"""
import argparse
import json
import os
import sys
from typing import Dict, List, Tuple

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


X_AXES = {"images_seen": "training images seen", "rendered": "rendered words seen", "real": "real crops seen"}


def read_points(paths: List[str], dataset: str = "iiit5k", x: str = "images_seen") -> List[Tuple[float, float]]:
    """(x, accuracy %) on ``dataset`` from each file; ``PATH@N`` shifts a file by N (a fine-tuning run). A run logs
    several sets (``holdout``, ``iiit5k``): one curve is one set. ``x`` is the count on the horizontal axis:
    ``images_seen``, or ``rendered`` / ``real`` (written by chains that mix the two; an entry without it is an error,
    not a point left out)."""
    points = []
    for spec in paths:
        path, _, offset = spec.partition("@")
        try:
            shift = float(offset or 0)
        except ValueError:
            raise ValueError(f"{spec}: the shift after '@' must be a number of images") from None
        if not os.path.isfile(path):
            raise ValueError(f"no such file: {path}")
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
        for number, line in enumerate(lines, 1):
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                if number == len(lines):   # the line a running (or killed) run was writing
                    continue
                raise ValueError(f"{path} line {number}: not a JSON line") from None
            if "accuracy" in entry and entry.get("dataset", dataset) == dataset:
                if x not in entry:
                    raise ValueError(f"{path} line {number}: no {x!r} count to plot against")
                points.append((float(entry[x]) + shift, 100.0 * float(entry["accuracy"])))
    return sorted(points)


def chains(specs: List[str]) -> Dict[str, List[str]]:
    """Files grouped by chain: ``NAME=PATH[@N]`` puts a file in chain NAME (files without a name: one chain, "")."""
    groups: Dict[str, List[str]] = {}
    for spec in specs:
        name, sep, rest = spec.partition("=")
        if not sep or "/" in name or "." in name:   # a plain path (which may itself hold an "=")
            name, rest = "", spec
        groups.setdefault(name, []).append(rest)
    return groups


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0], allow_abbrev=False)
    parser.add_argument("metrics", nargs="+", help="metrics.jsonl files; PATH@N adds N to its images seen; "
                        "NAME=PATH puts a file in the named chain (one line per chain and set)")
    parser.add_argument("--output", required=True)
    parser.add_argument("--title", default="accuracy vs training images seen")
    parser.add_argument("--dataset", default="iiit5k",
                        help="evaluated set(s) to plot, comma-separated: one line each (iiit5k, holdout, ic15, ...)")
    parser.add_argument("--reference", action="append", default=[], help="label=value horizontal line (percent)")
    parser.add_argument("--x", default="images_seen",
                        help="horizontal axis, comma-separated for one panel each: " + ", ".join(X_AXES))
    args = parser.parse_args()
    axes_x = args.x.split(",")
    unknown = [x for x in axes_x if x not in X_AXES]
    if unknown:
        parser.error(f"--x: unknown {unknown}; choose from {', '.join(X_AXES)}")
    groups = chains(args.metrics)
    try:
        panels = [{(chain, name): read_points(files, name, x) for chain, files in groups.items()
                   for name in args.dataset.split(",")} for x in axes_x]
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    panels = [{key: pts for key, pts in series.items() if pts} for series in panels]
    if not panels[0]:
        print("error: no accuracy entries in the metrics files", file=sys.stderr)
        return 1
    fig, axes = plt.subplots(1, len(axes_x), figsize=(7.6 * len(axes_x), 4.4), dpi=100, sharey=True, squeeze=False)
    for ax, x, series in zip(axes[0], axes_x, panels):
        draw_panel(ax, series, args.dataset.split(","), list(groups), args.reference)
        ax.set_xlabel(X_AXES[x])
    axes[0][0].set_ylabel("accuracy (%)")
    fig.suptitle(args.title, fontsize=10)
    fig.tight_layout()
    fig.savefig(args.output)
    plt.close(fig)
    points = sum(len(pts) for pts in panels[0].values())
    lines = len(panels[0])
    print(f"wrote {args.output} ({points} points, {lines} line{'s' if lines > 1 else ''}"
          + (f", {len(panels)} panels" if len(panels) > 1 else "") + ")")
    return 0


def draw_panel(ax, series: Dict[Tuple[str, str], List[Tuple[float, float]]], sets: List[str],
               chain_names: List[str], references: List[str]) -> None:
    """One axis: a colour per evaluated set, a line style per chain, the reference lines."""
    colours = {name: f"C{i}" for i, name in enumerate(sets)}   # a set keeps its colour
    styles = {chain: ("-", "--", ":", "-.")[i % 4] for i, chain in enumerate(chain_names)}  # a chain its line style
    for (chain, name), pts in series.items():
        xs, ys = zip(*pts)
        ax.plot(xs, ys, styles[chain], marker="o", ms=4, color=colours[name], label=f"{chain} {name}".strip())
        if len(chain_names) == 1:   # numbers on the points only while they stay readable
            for x, y in pts:
                ax.annotate(f"{y:.1f}", (x, y), textcoords="offset points", xytext=(3, 5), fontsize=7)
    for label, value in (r.split("=", 1) for r in references):
        ax.axhline(float(value), color="#c85050", lw=0.8)
        ax.text(0, float(value), f" {label} {float(value):.1f}%", color="#c85050", fontsize=8, va="bottom")
    ax.grid(alpha=0.3)
    if len(series) > 1:
        ax.legend(fontsize=8)


if __name__ == "__main__":
    sys.exit(main())
