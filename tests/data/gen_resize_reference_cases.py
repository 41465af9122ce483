#!/usr/bin/env python3
"""Golden Resize cases from the ONNX Python reference implementation
(onnx.reference, onnx 1.23), for what the ONNX node conformance data leave
out: cubic (cubic_coeff_a -0.75 and -0.5), exclude_outside, cubic
antialias, every nearest_mode with non-integer scales, nearest and cubic
under every coordinate mode, tf_crop_and_resize with nearest, resizing N
and C, three resized axes. Written once; the output is committed:

    python3 tests/data/gen_resize_reference_cases.py > tests/data/resize_reference_cases.inc

Each case is a resize_node_test initializer (test_resize.c) with X random
in [-2, 2) from a fixed seed. pytorch_half_pixel onto an output of width 1
is left out: weft follows the spec there (x_original = 0) where the Python
reference uses -0.5. tf_half_pixel_for_nn is left out too: the Python
reference no longer implements it.

Needs the onnx Python package (pip install onnx).
"""
import numpy as np
from onnx import TensorProto, helper
from onnx.reference import ReferenceEvaluator


def c_float(v):
    s = "%.9g" % v
    if "." not in s and "e" not in s and "n" not in s:
        s += ".0"
    return s + "f"


COORDS = ["half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners",
          "asymmetric", "tf_crop_and_resize"]
ROUNDINGS = ["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"]


def cases():
    """(label, X shape, attrs, roi or None, scales or None, sizes or None)"""
    out = []
    for coord in COORDS:
        roi = [0, 0, 0.2, -0.1, 1, 1, 0.9, 1.2] if coord == "tf_crop_and_resize" else None
        for scales in ([1, 1, 1.7, 0.6], [1, 1, 0.6, 2.0]):
            for r in ROUNDINGS:
                out.append(("nearest %s %s %s" % (r, coord, scales), [1, 2, 5, 4],
                            dict(mode="nearest", nearest_mode=r,
                                 coordinate_transformation_mode=coord,
                                 extrapolation_value=0.5), roi, scales, None))
            for a in (-0.75, -0.5):
                for excl in (0, 1):
                    out.append(("cubic a %g exclude %d %s %s" % (a, excl, coord, scales),
                                [1, 2, 5, 4],
                                dict(mode="cubic", cubic_coeff_a=a, exclude_outside=excl,
                                     coordinate_transformation_mode=coord,
                                     extrapolation_value=-1.0), roi, scales, None))
    for mode in ("linear", "cubic"):
        for scales in ([1, 1, 0.5, 0.3], [1, 1, 0.6, 1.5]):
            out.append(("antialias %s %s" % (mode, scales), [1, 2, 9, 10],
                        dict(mode=mode, antialias=1), None, scales, None))
    for mode in ("nearest", "linear", "cubic"):
        out.append(("N and C %s" % mode, [2, 3, 3, 4], dict(mode=mode), None,
                    [2.0, 0.5, 1.0, 1.7], None))
        out.append(("three axes %s" % mode, [1, 2, 3, 4, 5], dict(mode=mode), None,
                    [1, 1, 2.0, 0.6, 1.7], None))
        out.append(("sizes %s align_corners" % mode, [1, 2, 5, 4],
                    dict(mode=mode, coordinate_transformation_mode="align_corners"), None, None,
                    [1, 2, 9, 3]))
        out.append(("not_smaller %s" % mode, [1, 2, 5, 4],
                    dict(mode=mode, axes=[2, 3], keep_aspect_ratio_policy="not_smaller"), None,
                    None, [7, 3]))
    return out


def run(shape, attrs, roi, scales, sizes, x):
    names = ["X", "roi" if roi is not None else "", "scales" if scales is not None else ""]
    if sizes is not None:
        names.append("sizes")
    node = helper.make_node("Resize", names, ["Y"], **attrs)
    inputs = [helper.make_tensor_value_info("X", TensorProto.FLOAT, shape)]
    feeds = {"X": x}
    for name, value, kind in (("roi", roi, TensorProto.FLOAT),
                              ("scales", scales, TensorProto.FLOAT),
                              ("sizes", sizes, TensorProto.INT64)):
        if value is None:
            continue
        inputs.append(helper.make_tensor_value_info(name, kind, [len(value)]))
        feeds[name] = np.array(value, dtype=np.int64 if kind == TensorProto.INT64 else np.float32)
    graph = helper.make_graph([node], "g", inputs,
                              [helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)])
    return ReferenceEvaluator(model).run(None, feeds)[0], names


def main():
    rng = np.random.default_rng(20240611)
    arrays, entries = [], []
    for k, (label, shape, attrs, roi, scales, sizes) in enumerate(cases()):
        x = rng.uniform(-2.0, 2.0, size=shape).astype(np.float32)
        y, names = run(shape, attrs, roi, scales, sizes, x)
        arrays.append("static const float rr%d_x[] = {%s};"
                      % (k, ", ".join(c_float(v) for v in x.flatten())))
        arrays.append("static const float rr%d_y[] = {%s};"
                      % (k, ", ".join(c_float(v) for v in y.flatten())))
        ins = ["{.rank = %d, .dims = {%s}, .f32 = rr%d_x}"
               % (len(shape), ", ".join(str(d) for d in shape), k)]
        values = {"roi": roi, "scales": scales, "sizes": sizes}
        for name in names[1:]:
            value = values.get(name)
            if not name:
                ins.append("{.rank = -1}")
            elif name == "sizes":
                arrays.append("static const int64_t rr%d_%s[] = {%s};"
                              % (k, name, ", ".join(str(v) for v in value)))
                ins.append("{.rank = 1, .dims = {%d}, .constant = 1, .dtype = WEFT_INT64, "
                           ".i64 = rr%d_%s}" % (len(value), k, name))
            else:
                arrays.append("static const float rr%d_%s[] = {%s};"
                              % (k, name, ", ".join(c_float(v) for v in value)))
                ins.append("{.rank = 1, .dims = {%d}, .constant = 1, .f32 = rr%d_%s}"
                           % (len(value), k, name))
        at = []
        for key, v in sorted(attrs.items()):
            if isinstance(v, str):
                at.append('{.name = "%s", .type = \'s\', .s = "%s"}' % (key, v))
            elif isinstance(v, float):
                at.append('{.name = "%s", .type = \'f\', .f = %s}' % (key, c_float(v)))
            elif isinstance(v, list):
                at.append('{.name = "%s", .type = \'I\', .ints = {%s}, .count = %d}'
                          % (key, ", ".join(str(i) for i in v), len(v)))
            else:
                at.append('{.name = "%s", .type = \'i\', .i = %d}' % (key, v))
        entries.append(
            "    {.name = \"%s\",\n     .opset = 19,\n     .c = {.op = \"Resize\",\n"
            "           .inputs = %d,\n           .in = {%s},\n           .attrs = {%s}},\n"
            "     .out_rank = %d,\n     .out_dims = {%s},\n     .want = rr%d_y},"
            % (label, len(names), ",\n                  ".join(ins),
               ",\n                     ".join(at), y.ndim,
               ", ".join(str(d) for d in y.shape), k))
    print("/* Generated by gen_resize_reference_cases.py with the ONNX Python reference; "
          "do not edit. */")
    print("\n".join(arrays))
    print("static const resize_node_test resize_reference_cases[] = {")
    print("\n".join(entries))
    print("};")


if __name__ == "__main__":
    main()
