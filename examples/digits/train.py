#!/usr/bin/env python3
"""Trains the small CNN of weft's demo on scikit-learn's 8x8 digits.

The data set is the one bundled with scikit-learn (sklearn.datasets.load_digits:
1797 images of 8x8 pixels, values 0..16); nothing is downloaded. Training is
deterministic on one machine (fixed seeds, one thread); another PyTorch version
or CPU may give slightly different weights, so the committed files are the
reference.

Writes, beside this script:
  digits.onnx       the model (opset 13): input "image" [1,1,8,8] float32 (pixels
                    / 16), output "probs" [1,10] (softmax). Layers: Conv, batch
                    norm, ReLU, a residual block closed by an Add, max pooling,
                    global average pooling, Flatten, Gemm, Softmax.
  digits_test.bin   the held-out images, little-endian:
                      bytes 0-7    "WEFTDIG1"
                      uint32 x 4   count N, channels 1, height 8, width 8
                      float32      N x 1 x 8 x 8 images, the model's input
                      uint8 x N    labels
                      uint8 x N    PyTorch's predicted labels
  digits_torch.txt  PyTorch's own result on those images ("images N",
                    "correct K", "accuracy A", the versions used)
  digit7.f32        one held-out 7 as raw float32 [1,1,8,8], the input of the
                    examples/classify.c test

`weft demo` (and `make demo`) runs the held-out images through digits.onnx and
compares its accuracy with digits_torch.txt.

Running it (the outputs are committed; this only regenerates them):
  Debian/Ubuntu packages:
    apt-get install python3-torch python3-sklearn python3-onnx libopenblas0-openmp
    /usr/bin/python3 examples/digits/train.py
  or PyPI, in a virtual environment (the CPU build of torch is enough):
    python3 -m venv ~/.venvs/digits
    ~/.venvs/digits/bin/pip install scikit-learn onnx
    ~/.venvs/digits/bin/pip install torch --index-url https://download.pytorch.org/whl/cpu
    ~/.venvs/digits/bin/python examples/digits/train.py
  Another torch version may train slightly different weights; the script
  then rewrites all four files together, so they stay consistent.
"""
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
from sklearn.datasets import load_digits

SEED = 20240601
TEST_FRACTION = 0.2
EPOCHS = 40
OUT = os.path.dirname(os.path.abspath(__file__))


class DigitsNet(nn.Module):
    """conv-bn-relu, a residual block, max pool, conv-bn-relu, GAP, Gemm, softmax.

    The block's batch norm comes after the Add, so it stays a
    BatchNormalization node in the ONNX file (the exporter folds a batch
    norm that directly follows a conv into the conv's weights)."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(16), nn.ReLU())
        self.block_a = nn.Sequential(nn.Conv2d(16, 16, 3, padding=1), nn.ReLU())
        self.block_b = nn.Conv2d(16, 16, 3, padding=1)
        self.block_bn = nn.BatchNorm2d(16)
        self.pool = nn.MaxPool2d(2)
        self.head = nn.Sequential(nn.Conv2d(16, 32, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(32), nn.ReLU())
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(32, 10)

    def logits(self, x):
        x = self.stem(x)
        x = torch.relu(self.block_bn(x + self.block_b(self.block_a(x))))
        x = self.head(self.pool(x))
        return self.fc(torch.flatten(self.gap(x), 1))

    def forward(self, x):
        return torch.softmax(self.logits(x), dim=1)


def main():
    torch.manual_seed(SEED)
    torch.set_num_threads(1)
    rng = np.random.default_rng(SEED)
    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)[:, None, :, :]
    labels = digits.target.astype(np.int64)
    order = rng.permutation(len(labels))
    n_test = int(round(len(labels) * TEST_FRACTION))
    test_idx, train_idx = order[:n_test], order[n_test:]

    model = DigitsNet()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, EPOCHS)
    x_train = torch.from_numpy(images[train_idx])
    y_train = torch.from_numpy(labels[train_idx])
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(EPOCHS):
        model.train()
        perm = torch.randperm(len(y_train))
        total = 0.0
        for start in range(0, len(perm), 64):
            idx = perm[start:start + 64]
            opt.zero_grad()
            loss = loss_fn(model.logits(x_train[idx]), y_train[idx])
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        sched.step()
        if epoch % 10 == 9:
            print(f"epoch {epoch + 1}: loss {total / len(perm):.4f}")

    model.eval()
    x_test = torch.from_numpy(images[test_idx])
    y_test = labels[test_idx]
    with torch.no_grad():
        # One image at a time, as weft runs them (batch 1).
        pred = np.array([int(model(x_test[i:i + 1]).argmax()) for i in range(len(y_test))])
    correct = int((pred == y_test).sum())
    print(f"PyTorch test accuracy: {correct}/{len(y_test)} = {correct / len(y_test):.4f}")

    torch.onnx.export(model, x_test[:1], os.path.join(OUT, "digits.onnx"),
                      input_names=["image"], output_names=["probs"], opset_version=13,
                      do_constant_folding=True)

    with open(os.path.join(OUT, "digits_test.bin"), "wb") as f:
        f.write(b"WEFTDIG1")
        f.write(struct.pack("<4I", len(y_test), 1, 8, 8))
        f.write(images[test_idx].astype("<f4").tobytes())
        f.write(y_test.astype(np.uint8).tobytes())
        f.write(pred.astype(np.uint8).tobytes())
    # One held-out 7 that PyTorch gets right, for examples/classify.c.
    seven = next(i for i in range(len(y_test)) if y_test[i] == 7 and pred[i] == 7)
    images[test_idx[seven]].astype("<f4").tofile(os.path.join(OUT, "digit7.f32"))
    with open(os.path.join(OUT, "digits_torch.txt"), "w") as f:
        f.write("# PyTorch's own result on digits_test.bin, written by train.py\n")
        f.write(f"images {len(y_test)}\ncorrect {correct}\n")
        f.write(f"accuracy {correct / len(y_test):.6f}\n")
        f.write(f"torch {torch.__version__}\npython {sys.version.split()[0]}\n")
        f.write(f"seed {SEED}\nepochs {EPOCHS}\n")


if __name__ == "__main__":
    main()
