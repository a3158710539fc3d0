"""The course's time budgets on 2 CPUs, in one place, and how recorded run times compare with them.

The table is the one the project's issues refer to (a chapter over its row is a defect to report, never a test
failure: speed is measured, not asserted). Quick-mode rows are the times under the test command (each notebook
under nbval); full-mode rows are ``python -m tools record``'s runs. Hosts differ: a CPU with AVX-512 gets the
tighter row, any other CPU the AVX2 row, a GPU none.

    >>> budget("ch3", "quick", "2 CPU (AMD EPYC, AVX-512)")
    55
    >>> compare({"0": 9.0, "1": 7.3, "2": 21.2, "3": 79.5}, "quick", "2 CPU (AMD EPYC, AVX-512)")[:2]
    ['ch0–2 37.5 s (row 25 s: over)', 'ch3 79.5 s (row 55 s: over)']
"""
from course_utils.startup import is_gpu_hardware

# part: (its chapters, {mode: (seconds on AVX-512, seconds on AVX2)})
PARTS = {
    "ch0–2": (("0", "1", "2"), {"quick": (25, 45), "full": (5 * 60, 8 * 60)}),
    "ch3": (("3",), {"quick": (55, 95), "full": (36 * 60, 60 * 60)}),
    "ch4": (("4",), {"quick": (40, 70), "full": (8 * 60, 12 * 60)}),
    "ch5": (("5",), {"quick": (40, 70), "full": (15 * 60, 25 * 60)}),
    "ch6": (("6",), {"quick": (100, 170), "full": (30 * 60, 50 * 60)}),
    "unit + integration tests": ((), {"quick": (35, 60)}),
    "site + Colab path + JupyterLab checks": ((), {"quick": (65, 110)}),
}
TOTAL = {"quick": (6 * 60, 10 * 60), "full": (94 * 60, 155 * 60)}
"""The test command as a whole (quick; lint and the three checks included) and the full course."""


def row(hardware):
    """0 for the AVX-512 column, 1 for AVX2, None on a GPU (no budget)."""
    if not hardware or is_gpu_hardware(hardware):
        return None
    return 0 if "AVX-512" in hardware else 1


def budget(part, mode, hardware):
    """The seconds ``part`` (a key of :data:`PARTS`, or ``"total"``) may take in ``mode`` on ``hardware``;
    None where the table has no row."""
    column = row(hardware)
    seconds = TOTAL.get(mode) if part == "total" else PARTS[part][1].get(mode)
    return None if column is None or seconds is None else seconds[column]


def _time(seconds):
    if float(seconds).is_integer():
        return f"{int(seconds):,} s"
    return f"{seconds:,.1f} s" if seconds < 100 else f"{seconds:,.0f} s"


def against(part, spent, mode, hardware):
    """``"ch3 79.5 s (row 55 s: over)"``: one part's time against its row; None where the table has none."""
    limit = budget(part, mode, hardware)
    if limit is None:
        return None
    return f"{part} {_time(spent)} (row {_time(limit)}: {'within' if spent <= limit else 'over'})"


def compare(times, mode, hardware):
    """One line per part whose chapters all have a time in ``times`` (``{chapter: seconds}``): the part's
    time against its row, "within" or "over"; then the chapters' total against the full course's row (full
    mode only, when every chapter has a time). ``[]`` on hardware without a row."""
    if row(hardware) is None:
        return []
    lines = []
    for part, (chapters, _) in PARTS.items():
        if chapters and all(c in times for c in chapters):
            line = against(part, sum(times[c] for c in chapters), mode, hardware)
            lines += [line] if line else []
    every = [c for chapters, _ in PARTS.values() for c in chapters]
    if mode == "full" and all(c in times for c in every):
        spent, limit = sum(times[c] for c in every), budget("total", "full", hardware)
        verdict = "within" if spent <= limit else "over"
        lines.append(f"total {spent / 60:.0f} min (row {limit / 60:.0f} min: {verdict})")
    return lines


def vector_extension(hardware):
    """``"AVX-512"`` or ``"AVX2"``: the column of the table a CPU's times are read against."""
    return ("AVX-512", "AVX2")[row(hardware)]
