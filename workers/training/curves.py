"""Loss curves as a PNG: one panel per stage (text warm-up included), raw loss and a moving average."""
from __future__ import annotations

from pathlib import Path


def plot_losses(losses: list[dict], out: Path, window: int = 25) -> Path:
    """Draw ``losses`` (dicts with stage, step, loss) into ``out``; returns ``out``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    stages = list(dict.fromkeys(x["stage"] for x in losses))
    fig, axes = plt.subplots(1, max(1, len(stages)), figsize=(4 * max(1, len(stages)), 3.2), squeeze=False)
    for ax, stage in zip(axes[0], stages):
        points = [(x["step"], x["loss"]) for x in losses if x["stage"] == stage]
        steps, values = zip(*points)
        ax.plot(steps, values, lw=0.6, alpha=0.4, label="loss")
        if len(values) >= window:
            smooth = [sum(values[i - window:i]) / window for i in range(window, len(values) + 1)]
            ax.plot(steps[window - 1:], smooth, lw=1.5, label=f"mean of {window}")
        ax.set_title(stage)
        ax.set_xlabel("step")
        ax.set_yscale("log")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("cross-entropy (answer tokens)")
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=90)
    plt.close(fig)
    return out
