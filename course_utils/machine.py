"""What the code runs on: Colab or not, GPU or not, and the hardware description every record carries.

Used by the setup cell (:func:`course_utils.setup`) and by :mod:`course_utils.results` (chapter 0).
"""
import glob
import os
import platform
import sys


def in_colab():
    """True inside a Google Colab kernel (it imports ``google.colab`` at start-up)."""
    return "google.colab" in sys.modules


def has_gpu():
    """True if an NVIDIA GPU device node exists (a cheap check: no TensorFlow import)."""
    return os.path.exists("/dev/nvidia0") or bool(glob.glob("/proc/driver/nvidia/gpus/*"))


def device():
    """'TPU', 'GPU (n)' or 'CPU': what TensorFlow will run on."""
    import tensorflow as tf

    if tf.config.list_logical_devices("TPU"):
        return "TPU"
    gpus = tf.config.list_physical_devices("GPU")
    return f"GPU ({len(gpus)})" if gpus else "CPU"


def _vector_extension(flags):
    """The widest SIMD extension in a /proc/cpuinfo ``flags`` set: what decides a CPU's matmul speed."""
    for flag, name in (("avx512f", "AVX-512"), ("avx2", "AVX2"), ("avx", "AVX"), ("sse4_2", "SSE4.2"),
                       ("sve", "SVE"), ("asimd", "NEON")):
        if flag in flags:
            return name
    return None


def hardware():
    """What ran: CPU count, CPU model and its widest vector extension, and any GPU TensorFlow sees.

    E.g. ``2 CPU (AMD EPYC, AVX2)`` or ``8 CPU (Intel Xeon ..., AVX-512), NVIDIA H100``. Machines that
    report the same model name can differ 2x or more in speed (AVX-512 against AVX2), so both are named.
    """
    info = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:   # the first processor's lines are enough: the cores are alike
                key, _, val = line.partition(":")
                info.setdefault(key.strip(), val.strip())
    except OSError:
        pass
    cpu = info.get("model name") or platform.processor() or platform.machine()
    flags = set((info.get("flags") or info.get("Features") or "").split())
    ext = _vector_extension(flags)
    desc = f"{os.cpu_count()} CPU ({cpu}{', ' + ext if ext else ''})"
    try:
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        if gpus:
            names = [tf.config.experimental.get_device_details(g).get("device_name", "GPU") for g in gpus]
            desc += ", " + ", ".join(names)
    except Exception:  # TF missing or broken: still record the CPU
        pass
    return desc


def is_gpu_hardware(text):
    """A record's ``hardware`` names a GPU after the CPU part, e.g. ``8 CPU (...), NVIDIA H100``."""
    return "GPU" in text.upper().split(")", 1)[-1] or "NVIDIA" in text.upper()
