#!/usr/bin/env python3
"""Checks of the peer comparison itself (not a ctest: it needs the Python
environment of make bench-peers, and is run by make bench-peers-smoke).

  - the error measures, the statistics and the round rotation on known data;
  - the report on a made-up result: failed and wrong cells are shown with
    their reasons, not dropped; the ratio is engine / weft;
  - a whole run on a model that no engine can load (a file of garbage):
    every engine's cell fails with a reason, and the run still writes its
    table, JSON and chart.
Prints 'N passed, N failed' and exits non-zero on a failure.
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import report  # noqa: E402
import stats  # noqa: E402

results = {"passed": 0, "failed": 0}


def check(cond, what):
    results["passed" if cond else "failed"] += 1
    if not cond:
        print(f"FAILED: {what}")


def test_stats():
    ref = np.array([3.0, 4.0], dtype=np.float32)
    c = stats.compare(np.array([3.0, 4.5]), ref)
    check(abs(c["max_abs"] - 0.5) < 1e-12, "max abs diff")
    check(abs(c["rel_l2"] - 0.1) < 1e-12, "relative L2 = 0.5 / 5")
    check(stats.compare(ref.reshape(1, 2), ref)["rel_l2"] == 0, "same values, other rank")
    try:
        stats.compare(np.zeros(3), ref)
        check(False, "a size mismatch raises")
    except ValueError:
        check(True, "")
    s = stats.summary([5.0, 1.0, 3.0, 100.0])
    check(s == {"median": 4.0, "min": 1.0, "max": 100.0, "n": 4}, f"summary {s}")
    items = ["a", "b", "c"]
    firsts = [stats.rotated(items, r)[0] for r in range(6)]
    check(sorted(firsts) == ["a", "a", "b", "b", "c", "c"], f"rotation firsts {firsts}")
    check(all(sorted(stats.rotated(items, r)) == items for r in range(4)),
          "each round runs every engine once")
    check(stats.ratio({"latency_ms": {"median": 30}}, {"latency_ms": {"median": 10}}) == 3,
          "ratio is engine / weft")
    check(stats.ratio({"status": "failed"}, {"latency_ms": {"median": 10}}) is None,
          "no ratio without a timing")


def made_up_doc():
    def ok(ms, rel=1e-7):
        return {"status": "ok", "rel_l2": rel, "max_abs": rel, "label": "",
                "latency_ms": stats.summary(ms), "cold": {"cold_ms": 1000.0}}
    wrong = ok([40.0, 41.0], rel=0.3)
    wrong["status"] = "wrong"
    return {"date": "2026-12-01T00:00:00+00:00",
            "machine": {"cpu": "Test CPU", "cores": 2, "isa": "AVX2", "weft_device": "dev0"},
            "settings": {"runs": 2, "warmup": 1, "threads": 2, "tolerance": 1e-4,
                         "engines": ["weft", "onnxruntime", "opencv-ocl"],
                         "labels": {"weft": "weft (dev0)", "onnxruntime": "onnxruntime",
                                    "opencv-ocl": "opencv-ocl"}},
            "skipped": {"unet": "missing unet.onnx"}, "load_average": {"m1": [1.0, 2.5]},
            "models": {"m1": {"weft": ok([10.0, 12.0]), "onnxruntime": ok([30.0, 22.0]),
                              "opencv-ocl": {"status": "failed", "label": "",
                                             "reason": "import failed: node X"}},
                       "m2": {"weft": ok([20.0]), "onnxruntime": wrong,
                              "opencv-ocl": ok([200.0])}}}


def test_report(out):
    doc = made_up_doc()
    md = report.markdown(doc)
    check("| m1 | 11.0 | 26.0 (2.36x) | failed [1] |" in md, "m1's row:\n" + md)
    check("WRONG [2] 40.5 (2.02x)" in md, "a wrong cell keeps its time and says WRONG")
    check("[1] m1, opencv-ocl: import failed: node X" in md, "the failure's reason")
    check("relative L2 error 0.3" in md, "the wrong cell's error")
    check("skipped unet: missing unet.onnx" in md, "a skipped model is listed")
    check("Test CPU (2 cores AVX2)" in md, "machine description")
    check("m1 1.0–2.5" in md, "the load average during a model")
    report.write_all(doc, out)
    check(os.path.getsize(os.path.join(out, "peers.png")) > 1000, "the chart is written")
    with open(os.path.join(out, "peers.json")) as f:
        check(json.load(f)["models"]["m1"]["opencv-ocl"]["status"] == "failed", "JSON status")


def test_garbage_model(tmp):
    models = os.path.join(tmp, "models")
    os.makedirs(models)
    with open(os.path.join(models, "junk.onnx"), "wb") as f:
        f.write(b"this is not an ONNX model\n" * 10)
    np.save(os.path.join(models, "junk.input.npy"), np.zeros((1, 3, 8, 8), np.float32))
    np.save(os.path.join(models, "junk.output.npy"), np.zeros((1, 4), np.float32))
    out = os.path.join(tmp, "out")
    weft = os.environ.get("WEFT", os.path.join(HERE, "..", "..", "build", "weft"))
    engines = "weft,onnxruntime,pytorch,opencv-cpu" if os.path.exists(weft) else \
        "onnxruntime,pytorch,opencv-cpu"
    p = subprocess.run([sys.executable, os.path.join(HERE, "run_peers.py"), "--models",
                        "junk,absent", "--runs", "1", "--warmup", "0", "--engines", engines,
                        "--model-dir", models, "--out", out, "--weft", weft, "--timeout", "300"],
                       capture_output=True, text=True, timeout=900)
    check(p.returncode == 0, f"run_peers exit {p.returncode}: {p.stderr[-2000:]}")
    if p.returncode != 0:
        return
    with open(os.path.join(out, "peers.json")) as f:
        doc = json.load(f)
    junk = doc["models"].get("junk", {})
    for key in engines.split(","):
        r = junk.get(key, {})
        check(r.get("status") == "failed" and r.get("reason"), f"{key} on garbage: {r}")
    check("absent" in doc["skipped"], "a model without files is skipped with a reason")
    check("failed [" in open(os.path.join(out, "peers.md")).read(), "failed cells in the table")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        test_stats()
        test_report(tmp)
        test_garbage_model(tmp)
    print(f"smoke_test: {results['passed']} passed, {results['failed']} failed")
    sys.exit(1 if results["failed"] else 0)


if __name__ == "__main__":
    main()
