"""What the Python benchmarks (bench/*.py) share, as bench_util.h does for the C ones."""

import os


def cpu_model():
    """The CPU's model, count and SIMD support, for the header of a benchmark's output."""
    try:
        with open("/proc/cpuinfo") as f:
            lines = f.read().splitlines()
    except OSError:
        return "unknown CPU"
    model = next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name")), "unknown CPU")
    flags = next((ln.split(":", 1)[1].split() for ln in lines if ln.startswith("flags")), [])
    simd = "+".join(f for f in ("avx2", "fma", "avx512f") if f in flags) or "no AVX2"
    return f"{model}, {os.cpu_count()} CPUs, {simd}"
