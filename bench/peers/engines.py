"""The orchestrator's side of each engine: weft through its `weft` binary,
the peers through a worker.py process. Both offer cold() (load and first
inference, output saved for the reference check) and run_once() (one timed
inference, warm); a failure raises EngineFailed with the reason."""
import json
import os
import selectors
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))

PEERS = ["onnxruntime", "pytorch", "opencv-cpu", "opencv-ocl"]


class EngineFailed(Exception):
    pass


def tail(path, lines=3, since=None):
    """The last lines of a log, joined; with since, only those after the
    last line that starts with it (the last command's own output)."""
    try:
        with open(path, errors="replace") as f:
            text = [ln.strip() for ln in f if ln.strip()]
    except OSError:
        return ""
    if since:
        starts = [i for i, ln in enumerate(text) if ln.startswith(since)]
        text = text[starts[-1] + 1:] if starts else text
    return " | ".join(text[-lines:])


def thread_env(threads):
    """The thread count for every engine's pools (OpenMP, OpenBLAS, PoCL),
    and PoCL's worker threads pinned to cores (POCL_AFFINITY=1, unless the
    caller set it): without it PoCL's timings are bimodal on this machine
    (ResNet-18 through weft: 12.9-23.3 ms in one run, median 19.7)."""
    n = str(threads)
    return {"OMP_NUM_THREADS": n, "OPENBLAS_NUM_THREADS": n, "MKL_NUM_THREADS": n,
            "POCL_MAX_PTHREAD_COUNT": n, "POCL_CPU_MAX_CU_COUNT": n,
            "POCL_AFFINITY": os.environ.get("POCL_AFFINITY", "1")}


class Weft:
    """weft on one device. Cold: `weft run` with an empty weft program cache
    and PoCL's kernel cache off; then again with the weft cache filled (PoCL's
    own cache, which holds the final machine code, empty), then with both
    filled (the warm start). Timed runs: one `weft bench --warmup W --iters 1`
    process per round, with both caches warm (W: the round warm-up)."""

    def __init__(self, key, label, weft, device, model, work, threads, warmup, timeout):
        self.key, self.label, self.weft, self.device = key, label, weft, device
        self.model, self.threads, self.warmup, self.timeout = model, threads, warmup, timeout
        self.dir = tempfile.mkdtemp(prefix=key.replace("@", "-") + "-", dir=work)
        self.cache = os.path.join(self.dir, "weft-cache")
        self.pocl = os.path.join(self.dir, "pocl-cache")
        os.makedirs(self.cache)
        os.makedirs(self.pocl)
        self.log = os.path.join(self.dir, "weft.log")
        self.info = {"device_selector": device}

    def _cmd(self, *args, env=None):
        full = dict(os.environ, **thread_env(self.threads), WEFT_CACHE_DIR=self.cache,
                    POCL_CACHE_DIR=self.pocl, **(env or {}))
        argv = [self.weft, *args, "--device", str(self.device)]
        t0 = time.perf_counter()
        with open(self.log, "a") as log:
            log.write("$ " + " ".join(argv) + "\n")
            log.flush()
            try:
                p = subprocess.run(argv, env=full, stdout=log, stderr=subprocess.STDOUT,
                                   timeout=self.timeout)
            except subprocess.TimeoutExpired:
                raise EngineFailed(f"timed out after {self.timeout:.0f} s: {' '.join(args[:1])}")
        ms = (time.perf_counter() - t0) * 1e3
        if p.returncode != 0:
            raise EngineFailed(f"weft {args[0]} exited {p.returncode}: {tail(self.log, 2, '$ ')}")
        return ms

    def _run(self, out_dir, env=None):
        shutil.rmtree(out_dir, ignore_errors=True)
        return self._cmd("run", self.model.onnx, "--input", self.model.input,
                         "--output-dir", out_dir, env=env)

    def cold(self, save):
        out = os.path.join(self.dir, "out")
        cold = self._run(out, env={"POCL_KERNEL_CACHE": "0"})
        files = sorted(f for f in os.listdir(out) if f.endswith(".npy"))
        if len(files) != 1:
            raise EngineFailed(f"weft run wrote {len(files)} outputs, expected 1")
        shutil.move(os.path.join(out, files[0]), save)
        weft_cache_only = self._run(out)
        warm = self._run(out)
        return {"cold_ms": cold, "warm_weft_cache_only_ms": weft_cache_only, "warm_ms": warm}

    def run_once(self):
        js = os.path.join(self.dir, "bench.json")
        self._cmd("bench", self.model.onnx, "--input", self.model.input, "--warmup",
                  str(self.warmup), "--iters", "1", "--json", js)
        with open(js) as f:
            r = json.load(f)
        self.info["device"] = r.get("device", "")
        return r["runs_ms"][0]

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)


class Peer:
    """A peer engine in a worker.py process, started at cold() and kept for
    the rounds. The OpenCL target gets PoCL and OpenCV program caches of its
    own, empty, so that its first inference is as cold as weft's, and the
    device weft uses by default (ocl_device: an OPENCV_OPENCL_DEVICE value)."""

    def __init__(self, key, python, model, work, threads, warmup, timeout, ocl_device="",
                 round_warmup=1):
        self.key, self.label, self.python, self.model = key, key, python, model
        self.round_warmup = round_warmup
        self.ocl_device = ocl_device
        self.threads, self.warmup, self.timeout = threads, warmup, timeout
        self.dir = tempfile.mkdtemp(prefix=key + "-", dir=work)
        self.log = os.path.join(self.dir, "worker.log")
        self.proc = None
        self.info = {}

    def _start(self):
        env = dict(os.environ, **thread_env(self.threads))
        if self.key == "opencv-ocl":
            for var, sub in (("POCL_CACHE_DIR", "pocl-cache"),
                             ("OPENCV_OPENCL_CACHE_DIR", "opencv-cache")):
                env[var] = os.path.join(self.dir, sub)
                os.makedirs(env[var])
            env["OPENCV_DNN_OPENCL_ALLOW_ALL_DEVICES"] = "1"
            # OpenCV looks for a GPU only unless told otherwise.
            if self.ocl_device and not env.get("OPENCV_OPENCL_DEVICE"):
                env["OPENCV_OPENCL_DEVICE"] = self.ocl_device
        argv = [self.python, os.path.join(HERE, "worker.py"), self.key, self.model.onnx,
                self.model.input, "--threads", str(self.threads), "--zoo-name", self.model.name]
        self.logf = open(self.log, "w")
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.logf, env=env, text=True, bufsize=1)
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.proc.stdout, selectors.EVENT_READ)

    def _ask(self, cmd, timeout):
        try:
            self.proc.stdin.write(json.dumps(cmd) + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise EngineFailed(self._died())
        if not self.sel.select(timeout):
            self.close()
            raise EngineFailed(f"timed out after {timeout:.0f} s ({cmd['cmd']})")
        line = self.proc.stdout.readline()
        if not line:
            raise EngineFailed(self._died())
        r = json.loads(line)
        if not r.get("ok"):
            raise EngineFailed(r.get("error", "failed"))
        return r

    def _died(self):
        code = self.proc.wait(timeout=30)
        return f"worker died (exit {code}): {tail(self.log)}"

    def cold(self, save):
        self._start()
        r = self._ask({"cmd": "load"}, self.timeout)
        self.info = r.get("info", {})
        first = self._ask({"cmd": "first", "save": save}, self.timeout)
        if self.warmup:
            self._ask({"cmd": "run", "n": self.warmup}, self.timeout)
        return {"load_ms": r["load_ms"], "first_ms": first["ms"],
                "cold_ms": r["load_ms"] + first["ms"]}

    def run_once(self):
        """The round's warm-up runs back to back with the timed one, as
        weft's in its bench process: the last time is the round's."""
        return self._ask({"cmd": "run", "n": self.round_warmup + 1}, self.timeout)["ms"][-1]

    def close(self):
        if self.proc and self.proc.poll() is None:
            try:
                self.proc.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
                self.proc.stdin.close()
                self.proc.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.logf.close()
        self.proc = None


def weft_devices(weft):
    """weft's devices as `weft devices --json` lists them; the default first."""
    p = subprocess.run([weft, "devices", "--json"], capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        raise EngineFailed(f"weft devices failed: {p.stderr.strip()[-300:]}")
    devs = json.loads(p.stdout)
    return sorted(devs, key=lambda d: not d.get("default"))


def default_python():
    return sys.executable
