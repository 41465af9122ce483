"""The numbers of the peer comparison: output error, run statistics, the
round order. No engine or file handling here, so the smoke test can check
them on made-up data."""
import statistics

import numpy as np


def compare(out, ref):
    """Max abs difference and relative L2 error ||out - ref|| / ||ref||; a
    shape mismatch is an error, not a broadcast."""
    out = np.asarray(out, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    if out.size != ref.size:
        raise ValueError(f"output shape {list(out.shape)}, reference {list(ref.shape)}")
    out = out.reshape(ref.shape)
    diff = out - ref
    norm = float(np.linalg.norm(ref))
    return {"max_abs": float(np.max(np.abs(diff))) if diff.size else 0.0,
            "rel_l2": float(np.linalg.norm(diff)) / norm if norm > 0 else float(
                np.linalg.norm(diff))}


def summary(runs):
    return {"median": statistics.median(runs), "min": min(runs), "max": max(runs),
            "n": len(runs)}


def rotated(items, rnd):
    """Round rnd's order: the list turned by rnd places, so that every
    engine goes first (right after another engine's process) equally often."""
    if not items:
        return []
    k = rnd % len(items)
    return list(items[k:]) + list(items[:k])


def ratio(r, weft):
    """Latency ratio engine / weft of the medians (above 1: weft is faster);
    None when either has no timing."""
    a = (r or {}).get("latency_ms", {}).get("median")
    b = (weft or {}).get("latency_ms", {}).get("median")
    return a / b if a and b else None


def describe(r):
    if r["status"] == "failed":
        return "FAILED: " + r.get("reason", "")
    cold = r.get("cold", {})
    text = f"cold {cold.get('cold_ms', 0) / 1e3:.2f} s, rel L2 {r['rel_l2']:.2e}, " \
           f"max abs {r['max_abs']:.2e}"
    return ("WRONG: " if r["status"] == "wrong" else "ok: ") + text
