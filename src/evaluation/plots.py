"""Pictures for the report and for training runs (matplotlib, drawn off-screen to PNG files)."""
from __future__ import annotations

from typing import Dict, List, Sequence

import matplotlib

matplotlib.use("Agg")   # no display: files only
import matplotlib.pyplot as plt  # noqa: E402

from .analysis import COVERAGE_TARGETS, Coverage, Group  # noqa: E402


def coverage_plot(curve: Coverage, path: str, title: str) -> None:
    """Accuracy of the kept readings against the share kept, with the 95/98/99% marks."""
    fig, ax = plt.subplots(figsize=(4.2, 3.0), dpi=100)
    ax.plot(100 * curve.coverage, 100 * curve.accuracy, color="#1f5fa8")
    for target in COVERAGE_TARGETS:
        ax.axhline(100 * target, color="#999", lw=0.6, ls="--")
    ax.set_xlabel("readings kept (%)")
    ax.set_ylabel("accuracy of the kept (%)")
    ax.set_xlim(0, 100)
    ax.set_ylim(max(0, 100 * float(curve.accuracy.min()) - 5) if len(curve.accuracy) else 0, 100.5)
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def groups_plot(groups: Sequence[Group], path: str, title: str, xlabel: str) -> None:
    """Accuracy per group as bars, each labelled with its count."""
    fig, ax = plt.subplots(figsize=(4.2, 3.0), dpi=100)
    xs = range(len(groups))
    ax.bar(xs, [100 * g.accuracy for g in groups], color="#4c8c4a")
    for x, g in zip(xs, groups):
        ax.text(x, 100 * g.accuracy + 1, str(g.total), ha="center", fontsize=7, color="#555")
    ax.set_xticks(list(xs), [g.name for g in groups], fontsize=8)
    ax.set_ylim(0, 110)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("accuracy (%)")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def run_plot(records: List[Dict], path: str, title: str) -> bool:
    """A training run's ``metrics.jsonl`` against images seen: loss, learning rate, images/s, and the
    accuracy of every evaluated set (hold-out included). False when there is nothing to draw yet.
    (Records written before ``images_seen`` was logged per step are drawn against the step number.)"""
    steps = [r for r in records if "step" in r and "loss" in r]
    evals = [r for r in records if "accuracy" in r]
    if not steps and not evals:
        return False
    fig, axes = plt.subplots(2, 2, figsize=(10, 6.4), dpi=100)
    panels = [("loss", "loss", True), ("lr", "learning rate", False), ("img_per_s", "images/s", False)]
    by_images = all("images_seen" in r for r in steps)
    for ax, (key, name, log_scale) in zip(axes.flat, panels):
        xs = [r["images_seen"] if by_images else r["step"] for r in steps if key in r]
        ax.set_xlabel("images seen" if by_images else "step")
        ys = [r[key] for r in steps if key in r]
        ax.plot(xs, ys, lw=0.8)
        ax.set_ylabel(name)
        if log_scale and ys and min(ys) > 0:
            ax.set_yscale("log")
    ax = axes.flat[3]
    for name in sorted({r["dataset"] for r in evals}):
        points = [(r["images_seen"], 100 * r["accuracy"]) for r in evals if r["dataset"] == name]
        ax.plot(*zip(*points), marker="o", ms=3, label=name)
    if evals:
        ax.legend(fontsize=8)
    ax.set_ylabel("accuracy (%)")
    ax.set_xlabel("images seen")
    for ax in axes.flat:
        ax.grid(alpha=0.3)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True
