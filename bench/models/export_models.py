#!/usr/bin/env python3
"""The benchmark model zoo: real architectures with random weights, batch 1.

    python3 bench/models/export_models.py [--out build/models] [--only NAME,...]

For each model this writes, into the output folder (default build/models,
never committed):
    NAME.onnx         the model, exported by PyTorch (opset 13)
    NAME.input.npy    a deterministic input (float32, normal(0, 1), seed 0)
    NAME.output.npy   PyTorch's output for that input, the reference

Weights come from a fixed seed; nothing is downloaded. BatchNorm layers get
random running statistics (positive variances) so that they are not the
identity. The models:
    resnet18, mobilenet_v2, squeezenet1_1, googlenet (no aux heads),
    vgg11_bn, alexnet                      torchvision's definitions, 224x224
    unet      ConvTranspose upsampling, skip concatenation, batch norm, 128x128
    segnet    MaxPool indices + MaxUnpool, LRN, ELU and LeakyReLU, a grouped
              and a dilated convolution (a SegNet-style encoder-decoder), 128x128

Needs torch, torchvision and onnx: Debian's python3-torch,
python3-torchvision and python3-onnx (run with /usr/bin/python3), or the
same from PyPI in a virtual environment (PyPI's default torch wheel pulls
the CUDA libraries; the CPU wheel is enough).
"""
import argparse
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torchvision

OPSET = 13


def conv_bn_relu(cin, cout, **kw):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=kw.pop("padding", 1), bias=False, **kw),
                         nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class UNet(nn.Module):
    """Four levels 16-32-64-128 and a 256-channel bottleneck; ConvTranspose
    2x2/2 up, the encoder's features concatenated on the way back."""

    def __init__(self, cin=3, classes=4, widths=(16, 32, 64, 128)):
        super().__init__()
        self.down = nn.ModuleList()
        c = cin
        for w in widths:
            self.down.append(nn.Sequential(conv_bn_relu(c, w), conv_bn_relu(w, w)))
            c = w
        self.pool = nn.MaxPool2d(2)
        self.bottom = nn.Sequential(conv_bn_relu(c, 2 * c), conv_bn_relu(2 * c, 2 * c))
        self.up = nn.ModuleList()
        self.merge = nn.ModuleList()
        c = 2 * c
        for w in reversed(widths):
            self.up.append(nn.ConvTranspose2d(c, w, 2, stride=2))
            self.merge.append(nn.Sequential(conv_bn_relu(2 * w, w), conv_bn_relu(w, w)))
            c = w
        self.head = nn.Conv2d(c, classes, 1)

    def forward(self, x):
        skips = []
        for d in self.down:
            x = d(x)
            skips.append(x)
            x = self.pool(x)
        x = self.bottom(x)
        for up, merge, skip in zip(self.up, self.merge, reversed(skips)):
            x = merge(torch.cat([up(x), skip], dim=1))
        return self.head(x)


class LRN(torch.autograd.Function):
    """nn.LocalResponseNorm, exported as ONNX's LRN: PyTorch's is Python code
    (pad, avg_pool3d, pow) that the exporter would trace op by op. Both
    divide alpha by the window size."""

    @staticmethod
    def forward(ctx, x, size, alpha, beta, k):
        return nn.functional.local_response_norm(x, size, alpha, beta, k)

    @staticmethod
    def symbolic(g, x, size, alpha, beta, k):
        return g.op("LRN", x, size_i=size, alpha_f=alpha, beta_f=beta, bias_f=k)


class LocalResponseNorm(nn.Module):
    def __init__(self, size, alpha, beta, k):
        super().__init__()
        self.args = (size, alpha, beta, k)

    def forward(self, x):
        return LRN.apply(x, *self.args)


class SegNet(nn.Module):
    """A SegNet-style encoder-decoder: pooling indices carried to MaxUnpool,
    LRN after the first stage, ELU and LeakyReLU activations, a grouped and
    a dilated convolution."""

    def __init__(self, cin=3, classes=5, size=128):
        super().__init__()
        self.size = size
        self.enc1 = nn.Sequential(nn.Conv2d(cin, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ELU())
        self.lrn = LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0)
        self.enc2 = nn.Sequential(nn.Conv2d(32, 64, 3, padding=1, groups=4), nn.BatchNorm2d(64),
                                  nn.LeakyReLU(0.1))
        self.enc3 = nn.Sequential(nn.Conv2d(64, 128, 3, padding=2, dilation=2),
                                  nn.BatchNorm2d(128), nn.ReLU())
        self.pool = nn.MaxPool2d(2, 2, return_indices=True)
        self.dec3 = nn.Sequential(nn.Conv2d(128, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU())
        self.dec2 = nn.Sequential(nn.Conv2d(64, 32, 3, padding=1), nn.BatchNorm2d(32),
                                  nn.LeakyReLU(0.1))
        self.dec1 = nn.Conv2d(32, classes, 3, padding=1)

    def unpool(self, x, indices, size):
        # The output size as constants: nn.MaxUnpool2d computes it from
        # x.size(), which the exporter would trace into shape arithmetic.
        if not torch.jit.is_tracing():
            UNPOOL_INPUTS[(size, size)] = tuple(x.shape)
        return torch._C._nn.max_unpool2d(x, indices, [size, size])

    def forward(self, x):
        s = self.size
        x = self.lrn(self.enc1(x))
        x, i1 = self.pool(x)
        x = self.enc2(x)
        x, i2 = self.pool(x)
        x = self.enc3(x)
        x, i3 = self.pool(x)
        x = self.dec3(self.unpool(x, i3, s // 4))
        x = self.dec2(self.unpool(x, i2, s // 2))
        return self.dec1(self.unpool(x, i1, s))


# SegNet.unpool's input shapes by output size, recorded by the eager run
# before the export, for max_unpool2d_symbolic.
UNPOOL_INPUTS = {}


def max_unpool2d_symbolic(g, x, indices, output_size):
    """ONNX MaxUnpool for aten::max_unpool2d, which torch 1.13's exporter
    lacks. PyTorch's indices count within each (n, c) plane (its MaxPool
    export subtracts the plane offsets); ONNX's count over the whole tensor,
    so the offsets of the output planes are added back, as a constant: the
    zoo's shapes are static. Kernel and stride 2, as SegNet uses."""
    from torch.onnx import symbolic_helper as sh

    out_h, out_w = sh._parse_arg(output_size, "is")
    # The exporter does not know x's dims here; the eager run recorded them.
    n, c, h, w = UNPOOL_INPUTS[(out_h, out_w)]
    offsets = (np.arange(n * c, dtype=np.int64) * out_h * out_w).reshape(n, c, 1, 1)
    full = g.op("Add", indices, g.op("Constant", value_t=torch.from_numpy(offsets)))
    args = [x, full]
    if (out_h, out_w) != (2 * h, 2 * w):
        shape = torch.tensor([n, c, out_h, out_w], dtype=torch.int64)
        args.append(g.op("Constant", value_t=shape))
    return g.op("MaxUnpool", *args, kernel_shape_i=[2, 2], strides_i=[2, 2])


def torchvision_model(name):
    m = torchvision.models
    if name == "googlenet":
        return m.googlenet(weights=None, aux_logits=False, init_weights=True)
    return getattr(m, name)(weights=None)


MODELS = {
    "resnet18": (lambda: torchvision_model("resnet18"), 224),
    "mobilenet_v2": (lambda: torchvision_model("mobilenet_v2"), 224),
    "squeezenet1_1": (lambda: torchvision_model("squeezenet1_1"), 224),
    "googlenet": (lambda: torchvision_model("googlenet"), 224),
    "vgg11_bn": (lambda: torchvision_model("vgg11_bn"), 224),
    "alexnet": (lambda: torchvision_model("alexnet"), 224),
    "unet": (UNet, 128),
    "segnet": (SegNet, 128),
}


def randomize_batch_norm(model, gen):
    for mod in model.modules():
        if isinstance(mod, nn.BatchNorm2d):
            c = mod.num_features
            mod.running_mean.copy_(torch.randn(c, generator=gen) * 0.1)
            mod.running_var.copy_(torch.rand(c, generator=gen) * 0.5 + 0.75)
            mod.weight.data.copy_(torch.rand(c, generator=gen) * 0.5 + 0.75)
            mod.bias.data.copy_(torch.randn(c, generator=gen) * 0.1)


def export(name, out_dir):
    make, size = MODELS[name]
    torch.manual_seed(0)
    model = make().eval()
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        randomize_batch_norm(model, gen)
        x = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(0))
        y = model(x)
    path = os.path.join(out_dir, name + ".onnx")
    torch.onnx.export(model, x, path, opset_version=OPSET, input_names=["input"],
                      output_names=["output"], do_constant_folding=True)
    np.save(os.path.join(out_dir, name + ".input.npy"), x.numpy().astype(np.float32))
    np.save(os.path.join(out_dir, name + ".output.npy"), y.numpy().astype(np.float32))
    print(f"{name}: {path} ({os.path.getsize(path) / 1e6:.1f} MB), input {list(x.shape)}, "
          f"output {list(y.shape)}")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(here, "..", "..", "build", "models"))
    ap.add_argument("--only", default="", help="comma-separated model names")
    args = ap.parse_args()
    names = [n for n in args.only.split(",") if n] or list(MODELS)
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        sys.exit(f"unknown model(s) {', '.join(unknown)}; known: {', '.join(MODELS)}")
    os.makedirs(args.out, exist_ok=True)
    torch.onnx.register_custom_op_symbolic("aten::max_unpool2d", max_unpool2d_symbolic, OPSET)
    torch.set_num_threads(os.cpu_count() or 1)
    for n in names:
        export(n, args.out)


if __name__ == "__main__":
    main()
