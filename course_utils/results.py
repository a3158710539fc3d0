"""Record chapter metrics to ``build/results.json`` (used by every chapter from notebook 00 on).

Each record carries mode, hardware and date, so every number in the README can be
traced to a real run. The runner's table and the README table are made from here.
"""
import datetime as _dt
import json
import math
import os
import platform
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def build_dir():
    """``build/`` at the course root, or ``COURSE_BUILD_DIR`` (made absolute: kernels run in notebooks/)."""
    return Path(os.environ.get("COURSE_BUILD_DIR", ROOT / "build")).resolve()


def results_path():
    return build_dir() / "results.json"


def hardware():
    """A short description: CPU count and model, and any accelerator TF sees."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    desc = f"{os.cpu_count()} CPU ({cpu})"
    try:
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        if gpus:
            names = [tf.config.experimental.get_device_details(g).get("device_name", "GPU") for g in gpus]
            desc += ", " + ", ".join(names)
    except Exception:  # TF missing or broken: still record the CPU
        pass
    return desc


def record(chapter, name, value, target=None, higher_is_better=True):
    """Append one metric; return the stored entry. ``value`` must be a finite number."""
    from .config import get_mode

    if isinstance(value, bool) or not isinstance(value, (int, float)) and not hasattr(value, "__float__"):
        raise ValueError(f"value for {name!r} must be a number, got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"value for {name!r} must be finite, got {value}")
    entry = {
        "chapter": str(chapter), "name": name, "value": value,
        "target": None if target is None else float(target),
        "higher_is_better": bool(higher_is_better),
        # bool(): a NumPy comparison would give np.bool_, which json cannot write
        "met": None if target is None else bool(value >= float(target) if higher_is_better
                                                else value <= float(target)),
        "mode": get_mode(), "hardware": hardware(),
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
    path = results_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    entries = load(path)
    entries.append(entry)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(entries, indent=1))
    tmp.replace(path)
    return entry


def load(path=None):
    path = Path(path or results_path())
    if not path.exists():
        return []
    return json.loads(path.read_text())


def latest(entries, since=None):
    """Keep the newest entry per (chapter, name, mode), optionally only those on/after ``since``."""
    best = {}
    for e in entries:
        if since and e["date"] < since:
            continue
        key = (e["chapter"], e["name"], e["mode"])
        if key not in best or e["date"] >= best[key]["date"]:
            best[key] = e
    return sorted(best.values(), key=lambda e: (e["chapter"], e["mode"], e["name"]))


def _fmt(x):
    if x is None:
        return ""
    return f"{x:.4g}" if abs(x) < 1e5 else f"{x:.3e}"


def table(entries, markdown=False):
    """Format entries as a text (or Markdown) table: chapter, metric, value, target, met, mode, hardware, date."""
    head = ["chapter", "metric", "value", "target", "met", "mode", "hardware", "date"]
    rows = []
    for e in entries:
        arrow = "≥" if e["higher_is_better"] else "≤"
        target = "" if e["target"] is None else f"{arrow} {_fmt(e['target'])}"
        met = "" if e["met"] is None else ("yes" if e["met"] else "NO")
        rows.append([e["chapter"], e["name"], _fmt(e["value"]), target, met, e["mode"], e["hardware"], e["date"][:10]])
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines)
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)] if rows else [len(h) for h in head]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join([fmt.format(*head), fmt.format(*["-" * w for w in widths])] + [fmt.format(*r) for r in rows])
