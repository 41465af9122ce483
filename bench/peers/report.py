"""The peer comparison's outputs: markdown tables, JSON, a PNG bar chart."""
import json
import os

import stats

FILES = ["peers.md", "peers.json", "peers.png"]


def machine():
    """CPU model, core count and vector width, from /proc/cpuinfo."""
    cpu, flags = "unknown CPU", set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and cpu == "unknown CPU":
                    cpu = " ".join(value.split())
                elif key.strip() == "flags" and not flags:
                    flags = set(value.split())
    except OSError:
        pass
    isa = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else ""
    return {"cpu": cpu, "cores": os.cpu_count() or 1, "isa": isa, "weft_device": ""}


def machine_line(doc, sep=", "):
    m = doc["machine"]
    isa = f" {m['isa']}" if m.get("isa") else ""
    return (f"{doc['date'][:10]}, {m['cpu']} ({m['cores']} cores{isa}){sep}"
            f"weft device: {m.get('weft_device') or 'none'}")


def _reasons(doc):
    """Footnote number of every failed or wrong cell, in table order."""
    notes = {}
    for name, res in doc["models"].items():
        for key in doc["settings"]["engines"]:
            r = res.get(key)
            if r and r["status"] == "failed":
                notes[(name, key)] = r.get("reason", "failed")
            elif r and r["status"] == "wrong":
                notes[(name, key)] = (f"output wrong: relative L2 error {r['rel_l2']:.3g} "
                                      f"(max abs {r['max_abs']:.3g})")
    return {k: (i + 1, v) for i, (k, v) in enumerate(notes.items())}


def _cell(r, weft, note):
    if r is None:
        return "–"
    if r["status"] == "failed":
        return f"failed [{note}]"
    lat = r.get("latency_ms")
    text = f"{lat['median']:.1f}" if lat else "?"
    q = stats.ratio(r, weft)
    if q is not None and r is not weft:
        text += f" ({q:.2f}x)"
    if r["status"] == "wrong":
        text = f"WRONG [{note}] " + text
    return text


def _table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def markdown(doc):
    keys = doc["settings"]["engines"]
    labels = doc["settings"]["labels"]
    notes = _reasons(doc)
    s = doc["settings"]
    out = [f"# weft and its peers: {machine_line(doc)}", "",
           f"Median latency in ms of {s['runs']} interleaved rounds (batch 1, {s['threads']} "
           "threads for every engine), and in brackets the ratio to weft on the default "
           "device (engine / weft: above 1 means weft is faster).", ""]
    rows = []
    for name, res in doc["models"].items():
        weft = res.get("weft")
        rows.append([name] + [_cell(res.get(k), weft, notes.get((name, k), ("",))[0])
                              for k in keys])
    out += _table(["model"] + [labels[k] for k in keys], rows)
    loads = doc.get("load_average", {})
    if loads:
        cores = doc["machine"]["cores"]
        out += ["", f"Load average (1 min) at each model's start and end, on {cores} cores: "
                + ", ".join(f"{n} {a:.1f}–{b:.1f}" for n, (a, b) in loads.items()) + "."]
    out += ["", "Min – max of the timed runs, ms:", ""]
    rows = []
    for name, res in doc["models"].items():
        row = [name]
        for k in keys:
            lat = (res.get(k) or {}).get("latency_ms")
            row.append(f"{lat['min']:.1f} – {lat['max']:.1f}" if lat else "–")
        rows.append(row)
    out += _table(["model"] + keys, rows)
    out += ["", "Cold start, s. weft: the whole `weft run` process (load, compile, first "
            "inference), with empty caches (an empty weft program cache and "
            "POCL_KERNEL_CACHE=0), with only weft's cache filled (PoCL's empty), and with "
            "both filled (warm). The peers: load + first inference in a running process "
            "(the OpenCL target with empty PoCL and OpenCV caches).", ""]
    cold_cols = [("cold_ms", "cold"), ("warm_weft_cache_only_ms", "only its cache warm"),
                 ("warm_ms", "warm")]
    header, rows = ["model"], []
    for k in keys:
        if k.startswith("weft"):
            header += [f"{k} {t}" for _, t in cold_cols]
        else:
            header.append(f"{k} first")
    for name, res in doc["models"].items():
        row = [name]
        for k in keys:
            cold = (res.get(k) or {}).get("cold", {})
            fields = [c for c, _ in cold_cols] if k.startswith("weft") else ["cold_ms"]
            row += [f"{cold[f] / 1e3:.2f}" if f in cold else "–" for f in fields]
        rows.append(row)
    out += _table(header, rows)
    out += ["", "Relative L2 error of the first output against PyTorch's reference "
            f"(wrong above {s['tolerance']:g}):", ""]
    rows = []
    for name, res in doc["models"].items():
        rows.append([name] + [f"{res[k]['rel_l2']:.1e}" if k in res and "rel_l2" in res[k]
                              else "–" for k in keys])
    out += _table(["model"] + keys, rows)
    if notes:
        out += [""] + [f"[{n}] {name}, {key}: {text}"
                       for (name, key), (n, text) in notes.items()]
    if doc["skipped"]:
        out += [""] + [f"skipped {n}: {why}" for n, why in doc["skipped"].items()]
    return "\n".join(out) + "\n"


def chart(doc, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = doc["settings"]["engines"]
    models = list(doc["models"])
    if not models:
        return
    width = 0.8 / len(keys)
    fig, ax = plt.subplots(figsize=(max(8, 1.4 * len(models) + 3), 6.5))
    for i, k in enumerate(keys):
        xs, ys, hatch, notes = [], [], [], []
        for j, name in enumerate(models):
            r = doc["models"][name].get(k)
            x = j + (i - (len(keys) - 1) / 2) * width
            lat = (r or {}).get("latency_ms")
            if r and r["status"] != "failed" and lat:
                xs.append(x)
                ys.append(lat["median"])
                hatch.append(r["status"] == "wrong")
                q = stats.ratio(r, doc["models"][name].get("weft"))
                notes.append(f"{q:.2g}x" if q is not None and k != "weft" else "")
            elif r:
                ax.text(x, 0.02, "failed", rotation=90, ha="center", va="bottom",
                        fontsize=7, color="darkred", transform=ax.get_xaxis_transform())
        bars = ax.bar(xs, ys, width, label=doc["settings"]["labels"][k])
        for b, h, note in zip(bars, hatch, notes):
            if h:
                b.set_hatch("xx")
            if note:
                ax.text(b.get_x() + b.get_width() / 2, b.get_height() * 1.05, note,
                        ha="center", va="bottom", fontsize=6, rotation=90)
    ax.set_yscale("log")
    ax.margins(y=0.15)
    ax.set_ylabel("median latency, ms (log scale)")
    ax.set_xlim(-0.5, len(models) - 0.5)  # the "failed" marks have no bar to widen it
    ax.set_xticks(range(len(models)))
    ax.set_xticklabels(models)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.08),
              ncol=min(3, len(keys)), frameon=False)
    ax.set_title("weft and its peers, batch 1: median latency; above a bar, its ratio to "
                 "weft; hatched: wrong output\n" + machine_line(doc, "\n"), fontsize=9)
    ax.grid(axis="y", which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_all(doc, out):
    with open(os.path.join(out, "peers.json"), "w") as f:
        json.dump(doc, f, indent=1)
    with open(os.path.join(out, "peers.md"), "w") as f:
        f.write(markdown(doc))
    chart(doc, os.path.join(out, "peers.png"))
