'''The capstone notebook, "a neural net from scratch", written as its cells.

Why a generator rather than a hand-edited .ipynb: the text is reviewed as plain Python (a
notebook's JSON diffs are unreadable), the checked-in notebooks/capstone.ipynb is kept equal to
it by the same check as the exercise notebooks (`grade notebooks --check`), and it carries no
outputs or editor metadata. The kit's test runs its code cells in order on the reference.

It uses the student's own exercises (imported from the `exercises` package; the environment
variable DLKIT_PACKAGE names another package with the same modules, which is how the kit's test
runs it on the reference). Plots need matplotlib, which is optional: without it, the plot cells
say so and the rest runs.
'''

from __future__ import annotations

import copy

import nbformat
from nbformat import NotebookNode


def markdown(text: str) -> NotebookNode:
    return nbformat.v4.new_markdown_cell(text.strip())


def code(text: str) -> NotebookNode:
    return nbformat.v4.new_code_cell(text.strip())


CELLS: list[NotebookNode] = [
    markdown("""
# Capstone: a neural net from scratch

Four steps, from a straight line to a neural network, using the code you wrote this week:

1. Fit a line by gradient descent, with the gradients derived by hand.
2. Look at your activations and check their derivatives.
3. Fit a nonlinear function with a two-layer network: your `activations`, `losses`,
   `backprop` (the `MLP` and the gradient check) and `sgd`.
4. Train the same network in PyTorch, from the same start on the same minibatches, and get the
   same numbers.

Run the cells in order. A cell that raises `NotImplementedError` names the function you still
have to write in `exercises/`.
"""),
    code('''
import importlib
import os
import sys
import time
from pathlib import Path

import numpy as np

# The checkout: Jupyter starts a notebook in its own folder, notebooks/.
CHECKOUT = Path.cwd().parent if Path.cwd().name == "notebooks" else Path.cwd()
sys.path.insert(0, str(CHECKOUT))

# Your code from exercises/. (DLKIT_PACKAGE lets the kit's own test run this notebook on
# another package with the same modules.)
PACKAGE = os.environ.get("DLKIT_PACKAGE", "exercises")
activations = importlib.import_module(f"{PACKAGE}.activations")
losses = importlib.import_module(f"{PACKAGE}.losses")
backprop = importlib.import_module(f"{PACKAGE}.backprop")
sgd = importlib.import_module(f"{PACKAGE}.sgd")

try:
    import matplotlib.pyplot as plt
except ImportError:
    plt = None
    print("matplotlib is not installed: the plots are skipped (pip install matplotlib)")

started = time.perf_counter()
'''),
    markdown("""
## 1. A line, by gradient descent

Data: y = 3x - 1 plus a little noise. Model: ŷ = w x + b. Loss: the mean squared error

    L(w, b) = (1/N) Σ_i (ŷ_i - y_i)²

Its gradient, by the chain rule:

    ∂L/∂w = (2/N) Σ_i (ŷ_i - y_i) x_i        ∂L/∂b = (2/N) Σ_i (ŷ_i - y_i)

Gradient descent steps against it: w ← w - lr ∂L/∂w, and the same for b.
"""),
    code('''
rng = np.random.default_rng(0)
x = rng.uniform(-1, 1, size=100)
y = 3 * x - 1 + 0.1 * rng.standard_normal(100)

w, b, lr = 0.0, 0.0, 0.5
line_losses = []
for step in range(100):
    y_hat = w * x + b
    line_losses.append(np.mean((y_hat - y) ** 2))
    dw = 2 * np.mean((y_hat - y) * x)
    db = 2 * np.mean(y_hat - y)
    w, b = w - lr * dw, b - lr * db

w_best, b_best = np.polyfit(x, y, 1)  # least squares: the exact minimum of L
print(f"gradient descent: w = {w:.4f}, b = {b:.4f}, loss {line_losses[-1]:.5f}")
print(f"least squares:    w = {w_best:.4f}, b = {b_best:.4f}")
assert abs(w - w_best) < 1e-3 and abs(b - b_best) < 1e-3
'''),
    code('''
if plt is not None:
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.5))
    left.semilogy(line_losses)
    left.set(title="loss while fitting the line", xlabel="step", ylabel="mean squared error")
    right.scatter(x, y, s=8, label="data")
    grid = np.linspace(-1, 1, 2)
    right.plot(grid, w * grid + b, color="C1", label=f"fit: {w:.2f} x + {b:.2f}")
    right.set(title="the fitted line", xlabel="x", ylabel="y")
    right.legend()
'''),
    markdown("""
The gradient with respect to the predictions, 2 (ŷ - y) / N, is your `losses.mse_grad`; the
chain rule then multiplies by ∂ŷ/∂w = x and ∂ŷ/∂b = 1. Your losses give the same numbers
(here at the start, w = b = 0):
"""),
    code('''
y_hat = np.zeros_like(x)  # w = b = 0
dy_hat = losses.mse_grad(y_hat, y)
print("mse:", losses.mse(y_hat, y), " by hand:", np.mean((y_hat - y) ** 2))
print("dL/dw:", dy_hat @ x, " by hand:", 2 * np.mean((y_hat - y) * x))
assert np.isclose(dy_hat @ x, 2 * np.mean((y_hat - y) * x))
'''),
    markdown("""
## 2. Your activations

A line cannot bend. A network bends by passing each layer through a nonlinear activation.
Their derivatives drive backpropagation, so check each against central differences,
(f(z + h) - f(z - h)) / 2h. (relu has a kink at 0; the grid below avoids it.)
"""),
    code('''
z = np.linspace(-4, 4, 400)  # 400 points: none is exactly 0
h = 1e-6
for name in ["sigmoid", "tanh", "relu"]:
    f, f_grad = getattr(activations, name), getattr(activations, f"{name}_grad")
    central = (f(z + h) - f(z - h)) / (2 * h)
    error = np.max(np.abs(f_grad(z) - central))
    print(f"{name:8s} max |{name}_grad - central difference| = {error:.1e}")
    assert error < 1e-6

if plt is not None:
    fig, axes = plt.subplots(1, 3, figsize=(12, 3))
    for ax, name in zip(axes, ["sigmoid", "tanh", "relu"]):
        ax.plot(z, getattr(activations, name)(z), label=name)
        ax.plot(z, getattr(activations, f"{name}_grad")(z), "--", label=f"{name}_grad")
        ax.set_title(name)
        ax.legend()
'''),
    markdown("""
## 3. A two-layer network on a nonlinear target

Target: y = sin(3x) on [-1.5, 1.5], with noise. The best straight line is poor. The network
`MLP([1, 16, 1], activation="tanh")` (16 hidden units) computes

    z¹ = x W¹ + b¹,   a¹ = tanh(z¹),   ŷ = z² = a¹ W² + b²

`MLP.backward` takes dL/dŷ from any loss; here it is `mse_grad` (the network's own
`loss_and_grads` uses cross-entropy, for classification).

First the gradient check: backprop against `numerical_gradient`, compared with
`relative_error`. In float64, a correct backprop gives about 1e-7 or less.
"""),
    code('''
rng = np.random.default_rng(1)
N = 200
X = rng.uniform(-1.5, 1.5, size=(N, 1))
Y = np.sin(3 * X) + 0.05 * rng.standard_normal((N, 1))

slope, intercept = np.polyfit(X[:, 0], Y[:, 0], 1)
print(f"best straight line: mse {losses.mse(slope * X + intercept, Y):.4f}")

net = backprop.MLP([1, 16, 1], activation="tanh", seed=0)
initial = {name: p.copy() for name, p in net.params.items()}  # for PyTorch, in part 4

grads = net.backward(losses.mse_grad(net.forward(X), Y))
for name in ["W1", "b1", "W2", "b2"]:
    numeric = backprop.numerical_gradient(
        lambda _: losses.mse(net.forward(X), Y), net.params[name]
    )
    error = backprop.relative_error(grads[name], numeric)
    print(f"{name}: relative error {error:.1e}")
    assert error < 1e-6
'''),
    markdown("""
Now train: minibatches of 25 from `iterate_minibatches`, one `SGD` step each (learning rate 0.1,
momentum 0.9), 100 epochs. The minibatches are drawn up front, so that PyTorch can replay
exactly the same ones.
"""),
    code('''
EPOCHS, BATCH, LR, MOMENTUM = 100, 25, 0.1, 0.9
batch_rng = np.random.default_rng(2)
schedule = [list(sgd.iterate_minibatches(N, BATCH, rng=batch_rng)) for _ in range(EPOCHS)]

optimizer = sgd.SGD(net.params, lr=LR, momentum=MOMENTUM)
net_losses = []
for batches in schedule:
    for batch in batches:
        pred = net.forward(X[batch])
        optimizer.step(net.backward(losses.mse_grad(pred, Y[batch])))
    net_losses.append(losses.mse(net.forward(X), Y))
print(f"network: mse {net_losses[0]:.4f} after the first epoch, {net_losses[-1]:.4f} at the end")
assert net_losses[-1] < 0.01
'''),
    code('''
if plt is not None:
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.5))
    left.semilogy(net_losses)
    left.set(title="loss of the network", xlabel="epoch", ylabel="mean squared error")
    grid = np.linspace(-1.5, 1.5, 200)[:, None]
    right.scatter(X[:, 0], Y[:, 0], s=8, label="data")
    right.plot(grid, np.sin(3 * grid), color="gray", label="sin(3x)")
    right.plot(grid, net.forward(grid), color="C1", label="network")
    right.plot(grid, slope * grid + intercept, ":", color="C2", label="best line")
    right.set(title="the fit", xlabel="x", ylabel="y")
    right.legend()
'''),
    markdown("""
## 4. The same network in PyTorch

`torch.nn.Linear` stores its weight as (out, in), the transpose of our W, and computes
x Wᵀ + b. Start from the same numbers, replay the same minibatches with `torch.optim.SGD` (same
rule: your `SGD` follows it), and autograd should land on the same network as your backprop,
up to rounding (float64 throughout).
"""),
    code('''
import torch

torch.set_num_threads(1)  # tensors this small: extra threads cost more than they save
model = torch.nn.Sequential(
    torch.nn.Linear(1, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1)
).double()
with torch.no_grad():
    for layer, k in [(model[0], 1), (model[2], 2)]:
        layer.weight.copy_(torch.from_numpy(initial[f"W{k}"].T))
        layer.bias.copy_(torch.from_numpy(initial[f"b{k}"]))

torch_optimizer = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
X_t, Y_t = torch.from_numpy(X), torch.from_numpy(Y)
torch_losses = []
for batches in schedule:
    for batch in batches:
        torch_optimizer.zero_grad()
        torch.nn.functional.mse_loss(model(X_t[batch]), Y_t[batch]).backward()
        torch_optimizer.step()
    with torch.no_grad():
        torch_losses.append(torch.nn.functional.mse_loss(model(X_t), Y_t).item())

gap = np.max(np.abs(np.array(torch_losses) - np.array(net_losses)))
print(f"PyTorch: final mse {torch_losses[-1]:.6f}; yours {net_losses[-1]:.6f}")
print(f"largest difference between the two loss curves: {gap:.1e}")
np.testing.assert_allclose(torch_losses, net_losses, rtol=1e-6, atol=1e-9)
np.testing.assert_allclose(model[0].weight.detach().numpy().T, net.params["W1"], atol=1e-6)
print(f"notebook ran in {time.perf_counter() - started:.1f} s")
'''),
    markdown("""
## What you built

A network that learns a curve, from parts you wrote and checked: stable activations, a loss and
its gradient, backpropagation verified by finite differences, and the SGD update of PyTorch.
PyTorch's autograd computes the same gradients; from here on, you can trust it because you know
what it does.
"""),
]


def capstone_cells() -> list[NotebookNode]:
    """The capstone's cells, fresh copies (`grader.authoring.notebooks` numbers their ids)."""
    return copy.deepcopy(CELLS)
