"""Plot accuracy against training images seen from one or more metrics.jsonl files (PNG, no matplotlib).

    python tools/plot_curve.py runs/metrics.jsonl --output docs/learning_curve.png --title "IIIT5K, rendered words"
    python tools/plot_curve.py runs/cpu1/metrics.jsonl runs/cpu2/metrics.jsonl@128000 ...   # cpu2 fine-tunes cpu1
"""
import argparse
import json
import sys
from typing import List, Tuple

import numpy as np
from PIL import Image, ImageDraw, ImageFont

W, H, LEFT, BOTTOM, TOP, RIGHT = 760, 440, 70, 50, 40, 20
COLOURS = [(30, 90, 200), (220, 120, 20), (40, 150, 60), (150, 50, 170), (120, 120, 120)]


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0], allow_abbrev=False)
    parser.add_argument("metrics", nargs="+", help="metrics.jsonl files; PATH@N adds N to its images seen")
    parser.add_argument("--output", required=True)
    parser.add_argument("--title", default="accuracy vs training images seen")
    parser.add_argument("--dataset", default="iiit5k",
                        help="evaluated set(s) to plot, comma-separated: one line each (iiit5k, holdout, ic15, ...)")
    parser.add_argument("--reference", action="append", default=[], help="label=value horizontal line (percent)")
    args = parser.parse_args()
    series = {name: read_points(args.metrics, name) for name in args.dataset.split(",")}
    series = {name: pts for name, pts in series.items() if pts}
    if not series:
        print("error: no accuracy entries in the metrics files", file=sys.stderr)
        return 1
    points = [p for pts in series.values() for p in pts]
    refs = [(r.split("=")[0], float(r.split("=")[1])) for r in args.reference]
    x_max = max(p[0] for p in points) * 1.05
    y_max = max([p[1] for p in points] + [v for _, v in refs] + [10.0]) * 1.1
    img = Image.new("RGB", (W, H), "white")
    d = ImageDraw.Draw(img)
    font = ImageFont.load_default()
    to_xy = lambda x, y: (LEFT + x / x_max * (W - LEFT - RIGHT), H - BOTTOM - y / y_max * (H - BOTTOM - TOP))  # noqa
    d.rectangle([LEFT, TOP, W - RIGHT, H - BOTTOM], outline="black")
    for y in np.linspace(0, y_max, 6):
        px, py = to_xy(0, y)
        d.line([LEFT, py, W - RIGHT, py], fill=(230, 230, 230))
        d.text((8, py - 6), f"{y:.0f}%", fill="black", font=font)
    for x in np.linspace(0, x_max, 6):
        px, _ = to_xy(x, 0)
        d.text((px - 15, H - BOTTOM + 8), f"{x / 1000:.0f}k", fill="black", font=font)
    for label, value in refs:
        _, py = to_xy(0, value)
        d.line([LEFT, py, W - RIGHT, py], fill=(200, 80, 80), width=1)
        d.text((LEFT + 6, py - 14), f"{label} {value:.1f}%", fill=(200, 80, 80), font=font)
    for k, (name, pts) in enumerate(series.items()):
        colour = COLOURS[k % len(COLOURS)]
        xy = [to_xy(x, y) for x, y in pts]
        d.line(xy, fill=colour, width=3)
        for (px, py), (_, y) in zip(xy, pts):
            d.ellipse([px - 4, py - 4, px + 4, py + 4], fill=colour)
            d.text((px + 5, py - 16), f"{y:.1f}", fill=colour, font=font)
        if len(series) > 1:
            d.text((W - RIGHT - 90, H - BOTTOM - 14 * (len(series) - k) - 6), name, fill=colour, font=font)
    d.text((LEFT, 12), args.title, fill="black", font=font)
    d.text((W // 2 - 60, H - 20), "training images seen", fill="black", font=font)
    img.save(args.output)
    print(f"wrote {args.output} ({len(points)} points, {len(series)} line{'s' if len(series) > 1 else ''})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
