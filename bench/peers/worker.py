#!/usr/bin/env python3
"""One peer engine serving one model, in its own process (run_peers.py
starts one per engine and model, so that no two engines share a thread
pool, an allocator or an OpenCL context).

    python3 worker.py ENGINE MODEL.onnx INPUT.npy --threads N [--zoo-name NAME]

ENGINE is onnxruntime, pytorch, opencv-cpu or opencv-ocl. The protocol is
one JSON object a line: commands on stdin, answers on the original stdout
(which is moved to a private descriptor first, so that a library printing
to stdout cannot break it; fd 1 then points at stderr):
    {"cmd": "load"}               -> {"ok": true, "load_ms": T, "info": {...}}
    {"cmd": "first", "save": P}   -> {"ok": true, "ms": T}   output saved to P
    {"cmd": "run", "n": K}        -> {"ok": true, "ms": [T, ...]}
    {"cmd": "quit"}
Every failure answers {"ok": false, "error": "..."}.
"""
import argparse
import json
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


class EngineError(Exception):
    """The engine cannot run this model; the message says why."""


class OnnxRuntime:
    def __init__(self, args, x):
        import onnxruntime as ort
        so = ort.SessionOptions()
        so.intra_op_num_threads = args.threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(args.model, so, providers=["CPUExecutionProvider"])
        self.feed = {self.session.get_inputs()[0].name: x}
        self.info = {"version": ort.__version__, "provider": "CPUExecutionProvider"}

    def run(self):
        return self.session.run(None, self.feed)[0]


class PyTorch:
    """The zoo's own model definitions and weights (bench/models/), built
    as export_models.export() builds them, so that they match the .onnx;
    the reference check catches any drift between the two."""

    def __init__(self, args, x):
        import torch
        sys.path.insert(0, os.path.join(HERE, "..", "models"))
        import export_models as zoo
        name = args.zoo_name
        if name not in zoo.MODELS:
            raise EngineError(f"'{name}' is not a model of bench/models/export_models.py")
        torch.set_num_threads(args.threads)
        torch.set_num_interop_threads(1)
        make, size = zoo.MODELS[name]
        if tuple(x.shape[-2:]) != (size, size):
            raise EngineError(f"input {list(x.shape)} does not match the zoo's size {size}")
        torch.manual_seed(0)
        self.model = make().eval()
        with torch.no_grad():
            zoo.randomize_batch_norm(self.model, torch.Generator().manual_seed(1))
        self.torch = torch
        self.x = torch.from_numpy(x)
        # Debian's torch calls the BLAS that the libblas.so.3 alternative
        # names: its 1x1 convolutions are 4x slower on a single-threaded one.
        blas = [os.path.realpath(os.path.join(d, "libblas.so.3"))
                for d in ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu")
                if os.path.exists(os.path.join(d, "libblas.so.3"))]
        self.info = {"version": torch.__version__, "threads": torch.get_num_threads(),
                     "blas": blas[0] if blas else "unknown"}

    def run(self):
        with self.torch.inference_mode():
            return self.model(self.x).numpy()


class OpenCV:
    def __init__(self, args, x, opencl):
        import cv2
        cv2.setNumThreads(args.threads)
        self.info = {"version": cv2.__version__, "target": "OpenCL" if opencl else "CPU"}
        if opencl:
            if not cv2.ocl.haveOpenCL():
                raise EngineError("OpenCV has no OpenCL (not built with it, or no device)")
            cv2.ocl.setUseOpenCL(True)
            dev = cv2.ocl.Device.getDefault()
            if not cv2.ocl.useOpenCL() or not dev.available():
                sel = os.environ.get("OPENCV_OPENCL_DEVICE", "")
                raise EngineError("OpenCV could not use an OpenCL device"
                                  + (f" (OPENCV_OPENCL_DEVICE={sel})" if sel else ""))
            self.info["device"] = dev.name()
            # Without it OpenCV's DNN silently falls back to its CPU path on
            # anything but an Intel GPU.
            if os.environ.get("OPENCV_DNN_OPENCL_ALLOW_ALL_DEVICES") != "1":
                raise EngineError("OPENCV_DNN_OPENCL_ALLOW_ALL_DEVICES=1 is not set")
        try:
            self.net = cv2.dnn.readNetFromONNX(args.model)
        except cv2.error as e:
            raise EngineError("import failed: " + cv_reason(e))
        self.net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
        self.net.setPreferableTarget(cv2.dnn.DNN_TARGET_OPENCL if opencl
                                     else cv2.dnn.DNN_TARGET_CPU)
        self.cv2 = cv2
        self.x = x

    def run(self):
        try:
            self.net.setInput(self.x)
            return self.net.forward()
        except self.cv2.error as e:
            raise EngineError("forward failed: " + cv_reason(e))


ENGINES = {
    "onnxruntime": OnnxRuntime,
    "pytorch": PyTorch,
    "opencv-cpu": lambda a, x: OpenCV(a, x, False),
    "opencv-ocl": lambda a, x: OpenCV(a, x, True),
}


def cv_reason(e):
    """A cv2.error's own message without its '>' line marks: the node and
    the assertion that failed, with the values it names."""
    text = getattr(e, "err", "") or str(e)
    lines = [ln.strip(" >") for ln in text.splitlines() if ln.strip(" >")]
    return " ".join(lines[:4]) or str(e)


def last_line(text):
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1] if lines else text


def serve(args, proto):
    x = np.load(args.input).astype(np.float32)
    engine = None

    def answer(obj):
        proto.write(json.dumps(obj) + "\n")
        proto.flush()

    for line in sys.stdin:
        cmd = json.loads(line)
        try:
            if cmd["cmd"] == "load":
                t0 = time.perf_counter()
                engine = ENGINES[args.engine](args, x)
                answer({"ok": True, "load_ms": (time.perf_counter() - t0) * 1e3,
                        "info": engine.info})
            elif cmd["cmd"] == "first":
                t0 = time.perf_counter()
                y = engine.run()
                ms = (time.perf_counter() - t0) * 1e3
                np.save(cmd["save"], np.asarray(y, dtype=np.float32))
                answer({"ok": True, "ms": ms})
            elif cmd["cmd"] == "run":
                times = []
                for _ in range(int(cmd["n"])):
                    t0 = time.perf_counter()
                    engine.run()
                    times.append((time.perf_counter() - t0) * 1e3)
                answer({"ok": True, "ms": times})
            elif cmd["cmd"] == "quit":
                return
            else:
                answer({"ok": False, "error": f"unknown command {cmd['cmd']!r}"})
        except EngineError as e:
            answer({"ok": False, "error": str(e)})
        except Exception as e:  # any engine's own exception type: report, don't die
            answer({"ok": False, "error": f"{type(e).__name__}: {last_line(str(e))}"})


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("engine", choices=sorted(ENGINES))
    ap.add_argument("model")
    ap.add_argument("input")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--zoo-name", default="")
    args = ap.parse_args()
    proto = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    serve(args, proto)


if __name__ == "__main__":
    main()
