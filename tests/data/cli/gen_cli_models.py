#!/usr/bin/env python3
"""Writes the small ONNX models of tests/test_cli_model.sh (committed; this
regenerates them). Only ops whose kernels exist are used, so every command
runs them end to end:

  two_inputs.onnx  x, y [1,6,4,4] -> Add, Add(constant), Relu, MaxPool 2x2,
                   BatchNormalization, GlobalAveragePool, Flatten, Softmax
                   -> probs [1,6]
  one_input.onnx   x [1,6,4,4] -> Relu -> GlobalAveragePool -> Flatten
                   -> Softmax -> probs [1,6]
  x.npy, y.npy     inputs for two_inputs.onnx (seeded)

Needs numpy and onnx (Debian: python3-onnx).
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUT = os.path.dirname(os.path.abspath(__file__))


def save(graph, name):
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                              producer_name="weft tests")
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(OUT, name))


def main():
    rng = np.random.default_rng(6)
    shape = [1, 6, 4, 4]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)
    probs = helper.make_tensor_value_info("probs", TensorProto.FLOAT, [1, 6])
    f32 = lambda a: np.asarray(a, dtype=np.float32)
    inits = [
        numpy_helper.from_array(f32(rng.uniform(-0.5, 0.5, [1, 6, 1, 1])), "shift"),
        numpy_helper.from_array(f32(rng.uniform(0.5, 2.0, [6])), "bn_scale"),
        numpy_helper.from_array(f32(rng.uniform(-1, 1, [6])), "bn_bias"),
        numpy_helper.from_array(f32(rng.uniform(-0.2, 0.2, [6])), "bn_mean"),
        numpy_helper.from_array(f32(rng.uniform(0.5, 1.5, [6])), "bn_var"),
    ]
    nodes = [
        helper.make_node("Add", ["x", "y"], ["sum"], name="add_inputs"),
        helper.make_node("Add", ["sum", "shift"], ["shifted"], name="add_shift"),
        helper.make_node("Relu", ["shifted"], ["relu"], name="relu"),
        helper.make_node("MaxPool", ["relu"], ["pooled"], name="pool", kernel_shape=[2, 2],
                         strides=[2, 2]),
        helper.make_node("BatchNormalization", ["pooled", "bn_scale", "bn_bias", "bn_mean",
                                                "bn_var"], ["normed"], name="bn"),
        helper.make_node("GlobalAveragePool", ["normed"], ["gap"], name="gap"),
        helper.make_node("Flatten", ["gap"], ["flat"], name="flatten"),
        helper.make_node("Softmax", ["flat"], ["probs"], name="softmax", axis=1),
    ]
    save(helper.make_graph(nodes, "two_inputs", [x, y], [probs], inits), "two_inputs.onnx")

    nodes = [
        helper.make_node("Relu", ["x"], ["relu"], name="relu"),
        helper.make_node("GlobalAveragePool", ["relu"], ["gap"], name="gap"),
        helper.make_node("Flatten", ["gap"], ["flat"], name="flatten"),
        helper.make_node("Softmax", ["flat"], ["probs"], name="softmax", axis=1),
    ]
    save(helper.make_graph(nodes, "one_input", [x], [probs]), "one_input.onnx")

    np.save(os.path.join(OUT, "x.npy"), f32(rng.uniform(-1, 1, shape)))
    np.save(os.path.join(OUT, "y.npy"), f32(rng.uniform(-1, 1, shape)))


if __name__ == "__main__":
    main()
