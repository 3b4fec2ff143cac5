"""Plot accuracy against training images seen from one or more metrics.jsonl files (PNG, matplotlib).

    python tools/plot_curve.py runs/metrics.jsonl --output docs/learning_curve.png --title "IIIT5K, rendered words"
    python tools/plot_curve.py runs/cpu1/metrics.jsonl runs/cpu2/metrics.jsonl@128000 ...   # cpu2 fine-tunes cpu1
    python tools/plot_curve.py old=docs/curves/old_chain.jsonl new=stage1/curve.jsonl new=stage2/curve.jsonl@193920 \
        --dataset iiit5k,ic15 --output chains.png    # two chains side by side: one line per chain and set
"""
import argparse
import json
import sys
from typing import Dict, List, Tuple

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def read_points(paths: List[str], dataset: str = "iiit5k") -> List[Tuple[float, float]]:
    """(images seen, accuracy %) on ``dataset`` from each file; ``PATH@N`` shifts a file by N images (a fine-tuning
    run). A run logs several sets (``holdout``, ``iiit5k``): one curve is one set."""
    points = []
    for spec in paths:
        path, _, offset = spec.partition("@")
        with open(path, encoding="utf-8") as f:
            for line in f:
                entry = json.loads(line)
                if "accuracy" in entry and entry.get("dataset", dataset) == dataset:
                    points.append((float(entry["images_seen"]) + float(offset or 0), 100.0 * float(entry["accuracy"])))
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
    args = parser.parse_args()
    groups = chains(args.metrics)
    series = {(chain, name): read_points(files, name) for chain, files in groups.items()
              for name in args.dataset.split(",")}
    series = {key: pts for key, pts in series.items() if pts}
    if not series:
        print("error: no accuracy entries in the metrics files", file=sys.stderr)
        return 1
    points = [p for pts in series.values() for p in pts]
    fig, ax = plt.subplots(figsize=(7.6, 4.4), dpi=100)
    colours = {name: f"C{i}" for i, name in enumerate(args.dataset.split(","))}   # a set keeps its colour
    styles = {chain: ("-", "--", ":", "-.")[i % 4] for i, chain in enumerate(groups)}  # a chain its line style
    for (chain, name), pts in series.items():
        xs, ys = zip(*pts)
        ax.plot(xs, ys, styles[chain], marker="o", ms=4, color=colours[name], label=f"{chain} {name}".strip())
        if len(groups) == 1:   # numbers on the points only while they stay readable
            for x, y in pts:
                ax.annotate(f"{y:.1f}", (x, y), textcoords="offset points", xytext=(3, 5), fontsize=7)
    for label, value in (r.split("=", 1) for r in args.reference):
        ax.axhline(float(value), color="#c85050", lw=0.8)
        ax.text(0, float(value), f" {label} {float(value):.1f}%", color="#c85050", fontsize=8, va="bottom")
    ax.set_xlabel("training images seen")
    ax.set_ylabel("accuracy (%)")
    ax.set_title(args.title, fontsize=10)
    ax.grid(alpha=0.3)
    if len(series) > 1:
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(args.output)
    plt.close(fig)
    print(f"wrote {args.output} ({len(points)} points, {len(series)} line{'s' if len(series) > 1 else ''})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
