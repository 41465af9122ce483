#!/usr/bin/env python3
"""weft against the engines users would pick instead, on the model zoo.

    python3 bench/peers/run_peers.py [--models a,b] [--runs N] [--engines list]
                                     [--out DIR] [--quick]

(`make bench-peers` sets up the Python environment and runs this.) For each
model of bench/models/ (NAME.onnx, NAME.input.npy, NAME.output.npy in
--model-dir), in one session:
  - weft on its default device and on every other OpenCL device that
    `weft devices --json` lists (engine keys weft, weft@INDEX);
  - onnxruntime (CPU), PyTorch (CPU; the zoo's own definitions and seed),
    OpenCV DNN with its CPU target and with its OpenCL target.
Every engine runs in its own process with the same thread count. After a
cold first inference (weft: also with empty and warm program caches) and a
warm-up, the timed runs go in rounds, one run per engine per round, the
engine order rotated each round, so that machine noise hits all engines
alike; the median and min/max over the rounds are reported. In a round each
engine first idles --settle ms (the engine before may still spin-wait) and
runs --round-warmup untimed runs right before its timed one (weft's bench
process needs one to be warm; the peers get the same). Each engine's
first output is checked against NAME.output.npy (max abs diff, relative L2
error); a failed or wrong engine shows as such in the table.

Writes to --out: peers.md (the tables), peers.json (everything), peers.png
(bar chart), logs/ (the log of each engine that failed). The files are
rewritten after every model, so an interrupted run leaves what it measured.
"""
import argparse
import datetime
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)

import engines  # noqa: E402
import report  # noqa: E402
import stats  # noqa: E402

# The zoo's models, in export_models.py's order (not imported: that would
# pull in torch for the orchestrator).
ZOO = ["resnet18", "mobilenet_v2", "squeezenet1_1", "googlenet", "vgg11_bn", "alexnet",
       "unet", "segnet"]


class Model:
    def __init__(self, name, folder):
        self.name = name
        self.onnx = os.path.join(folder, name + ".onnx")
        self.input = os.path.join(folder, name + ".input.npy")
        self.output = os.path.join(folder, name + ".output.npy")

    def missing(self):
        return [p for p in (self.onnx, self.input, self.output) if not os.path.exists(p)]


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n", 2)[2])
    ap.add_argument("--models", default="", help="comma-separated (default: the whole zoo)")
    ap.add_argument("--runs", type=int, default=10, help="timed rounds (default 10)")
    ap.add_argument("--warmup", type=int, default=3,
                    help="untimed runs of a peer after its first one (default 3)")
    ap.add_argument("--round-warmup", type=int, default=1,
                    help="untimed runs right before each timed run, for every engine "
                         "(default 1: weft, one process per round, needs one to be warm)")
    ap.add_argument("--engines", default="",
                    help="comma-separated keys: weft (every device), weft@INDEX, "
                         + ", ".join(engines.PEERS) + " (default: all)")
    ap.add_argument("--out", default=os.path.join(REPO, "build", "peers"))
    ap.add_argument("--model-dir", default=os.path.join(REPO, "build", "models"))
    ap.add_argument("--weft", default=os.path.join(REPO, "build", "weft"))
    ap.add_argument("--python", default=sys.executable,
                    help="the interpreter of the peer workers (default: this one)")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                    help="threads of every engine (default: the machine's cores)")
    ap.add_argument("--tolerance", type=float, default=1e-4,
                    help="relative L2 error above which an output is wrong (default 1e-4)")
    ap.add_argument("--timeout", type=float, default=1800,
                    help="seconds one load, first run or timed run may take (default 1800)")
    ap.add_argument("--settle", type=float, default=200,
                    help="ms of idle before each timed run, so that the engine before has "
                         "stopped spinning (default 200)")
    ap.add_argument("--quick", action="store_true", help="3 rounds, 1 warm-up: a smoke test")
    args = ap.parse_args(argv)
    if args.quick:
        args.runs, args.warmup = 3, 1
    if args.runs < 1:
        ap.error("--runs must be at least 1")
    return args


def wanted(key, selected):
    if not selected:
        return True
    return key in selected or (key.startswith("weft@") and "weft" in selected)


def engine_list(args, selected, machine):
    """(key, label, device selector) of every weft device, then the peers."""
    out = []
    try:
        devs = engines.weft_devices(args.weft)
    except (engines.EngineFailed, OSError, ValueError) as e:
        print(f"weft: cannot list devices ({e}); weft is left out", file=sys.stderr)
        devs = []
    for d in devs:
        key = "weft" if d.get("default") else f"weft@{d['index']}"
        if d.get("default"):
            machine["weft_device"] = d["name"]
            # OpenCV's OpenCL target on the same device: "PLATFORM:TYPE:".
            machine["opencv_opencl_device"] = f"{d.get('platform', '')}:{d['type']}:"
        if "oclgrind" in d["name"].lower() or "oclgrind" in d.get("platform", "").lower():
            print(f"{key}: skipped: {d['name']} is a simulator (hours per model)")
            continue
        if wanted(key, selected):
            out.append((key, f"{key} ({d['name']})", d["index"]))
    out += [(k, k, None) for k in engines.PEERS if wanted(k, selected)]
    known = {"weft"} | {f"weft@{d['index']}" for d in devs if not d.get("default")}
    known |= set(engines.PEERS)
    for k in selected:
        if k not in known:
            print(f"--engines: unknown engine '{k}' (known: {', '.join(sorted(known))})",
                  file=sys.stderr)
    return out


def make_engine(spec, model, args, work):
    key, label, device = spec
    if device is not None:
        return engines.Weft(key, label, args.weft, device, model, work, args.threads,
                            args.round_warmup, args.timeout)
    return engines.Peer(key, args.python, model, work, args.threads, args.warmup, args.timeout,
                        args.ocl_device, args.round_warmup)


def keep_log(eng, out):
    log = getattr(eng, "log", None)
    if log and os.path.exists(log):
        os.makedirs(os.path.join(out, "logs"), exist_ok=True)
        shutil.copy(log, os.path.join(out, "logs", f"{eng.model.name}-{eng.key}.log"))


def bench_model(model, specs, args, work, ref):
    """Cold runs and checks, then the interleaved rounds, for one model."""
    results, live = {}, []
    for spec in specs:
        eng = make_engine(spec, model, args, work)
        r = results[eng.key] = {"label": eng.label, "status": "ok"}
        save = os.path.join(work, f"{model.name}-{eng.key}.npy")
        print(f"  {eng.key}: cold start ...", flush=True)
        try:
            r["cold"] = eng.cold(save)
            r.update(stats.compare(np.load(save), ref))
            if r["rel_l2"] > args.tolerance or not np.isfinite(r["rel_l2"]):
                r["status"] = "wrong"
            live.append(eng)
        except (engines.EngineFailed, ValueError, OSError) as e:
            r["status"], r["reason"] = "failed", str(e)
            keep_log(eng, args.out)
            eng.close()
        r["info"] = eng.info
        print(f"  {eng.key}: {stats.describe(r)}", flush=True)
    for rnd in range(args.runs):
        for eng in stats.rotated(live, rnd):
            r = results[eng.key]
            # The engine before may still spin-wait (onnxruntime's and
            # OpenMP's pools burn a core for tens of ms after a run), which
            # would slow the next engine alone.
            time.sleep(args.settle / 1e3)
            try:
                r.setdefault("runs_ms", []).append(eng.run_once())
            except (engines.EngineFailed, ValueError, KeyError, OSError) as e:
                r["status"], r["reason"] = "failed", f"round {rnd + 1}: {e}"
                keep_log(eng, args.out)
                eng.close()
                live.remove(eng)
        print(f"  round {rnd + 1}/{args.runs} done", flush=True)
    for eng in live:
        results[eng.key]["info"] = eng.info
        eng.close()
    for r in results.values():
        if r.get("runs_ms"):
            r["latency_ms"] = stats.summary(r["runs_ms"])
    return results


def weft_version(weft):
    """`weft --version` and the checkout's commit, for the JSON."""
    out = {}
    for key, argv in (("version", [weft, "--version"]),
                      ("commit", ["git", "-C", REPO, "describe", "--always", "--dirty"])):
        try:
            p = subprocess.run(argv, capture_output=True, text=True, timeout=60)
            out[key] = p.stdout.strip() if p.returncode == 0 else ""
        except OSError:
            out[key] = ""
    return out


def main(argv=None):
    args = parse_args(argv)
    selected = [e for e in args.engines.split(",") if e]
    names = [n for n in args.models.split(",") if n] or ZOO
    os.makedirs(args.out, exist_ok=True)
    machine = report.machine()
    specs = engine_list(args, selected, machine)
    args.ocl_device = machine.get("opencv_opencl_device", "")
    if not specs:
        sys.exit("no engine to run (see --engines)")
    doc = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
           "machine": machine, "weft": weft_version(args.weft),
           "settings": {"runs": args.runs, "warmup": args.warmup, "threads": args.threads,
                        "settle_ms": args.settle, "round_warmup": args.round_warmup,
                        "tolerance": args.tolerance, "engines": [s[0] for s in specs],
                        "labels": {s[0]: s[1] for s in specs}},
           "skipped": {}, "models": {}, "load_average": {}}
    work = tempfile.mkdtemp(prefix="weft-peers-")
    try:
        for name in names:
            model = Model(name, args.model_dir)
            missing = model.missing()
            if missing:
                doc["skipped"][name] = "missing " + ", ".join(os.path.basename(m)
                                                              for m in missing)
                print(f"{name}: skipped: {doc['skipped'][name]} (run "
                      "bench/models/export_models.py)")
                continue
            print(f"{name}:", flush=True)
            ref = np.load(model.output)
            load = os.getloadavg()[0]
            doc["models"][name] = bench_model(model, specs, args, work, ref)
            # Other work on the machine, which slows the engines unequally.
            doc["load_average"][name] = [load, os.getloadavg()[0]]
            report.write_all(doc, args.out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report.write_all(doc, args.out)
    print()
    print(report.markdown(doc))
    print(f"wrote {', '.join(os.path.join(args.out, f) for f in report.FILES)}")


if __name__ == "__main__":
    main()
