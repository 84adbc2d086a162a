"""Common backprop mistakes, as one-place edits of solutions/backprop.py (see test_mutants.py)."""

MUTANTS = [
    {
        "name": "bp2-without-sigma-prime",
        "old": "delta = (delta @ self.params[f\"W{k + 1}\"].T) * self.sigma_grad(z[k])",
        "new": "delta = delta @ self.params[f\"W{k + 1}\"].T",
        "why": "BP2 forgets the elementwise factor sigma'(z^k)",
    },
    {
        "name": "bp2-sigma-prime-of-a",
        "old": "* self.sigma_grad(z[k])",
        "new": "* self.sigma_grad(a[k])",
        "why": "BP2 takes sigma' at the activation a^k = sigma(z^k) instead of at z^k",
    },
    {
        "name": "bp2-weights-of-wrong-layer",
        "old": "delta @ self.params[f\"W{k + 1}\"].T",
        "new": "delta @ self.params[f\"W{k}\"].T",
        "why": "BP2 with W^k instead of W^{k+1}",
    },
    {
        "name": "bp3-mean-over-batch",
        "old": "grads[f\"b{k}\"] = delta.sum(axis=0)",
        "new": "grads[f\"b{k}\"] = delta.mean(axis=0)",
        "why": "BP3 averages over the batch although dlogits already carries the 1/N",
    },
    {
        "name": "bp3-no-sum",
        "old": "grads[f\"b{k}\"] = delta.sum(axis=0)",
        "new": "grads[f\"b{k}\"] = delta",
        "why": "BP3 without the sum over the batch: shape (N, n_k)",
    },
    {
        "name": "bp4-divides-by-n-again",
        "old": "grads[f\"W{k}\"] = a[k - 1].T @ delta",
        "new": "grads[f\"W{k}\"] = a[k - 1].T @ delta / len(delta)",
        "why": "BP4 divides by N a second time",
    },
    {
        "name": "bp4-transposed",
        "old": "grads[f\"W{k}\"] = a[k - 1].T @ delta",
        "new": "grads[f\"W{k}\"] = delta.T @ a[k - 1]",
        "why": "BP4 transposed: delta^T a^{k-1} has shape (n_k, n_{k-1})",
    },
    {
        "name": "loss-gradient-without-mean",
        "old": "return loss, self.backward(cross_entropy_grad(logits, labels))",
        "new": "return loss, self.backward(cross_entropy_grad(logits, labels) * len(logits))",
        "why": "gradients of the summed loss: N times too large",
    },
    {
        "name": "last-layer-with-activation",
        "old": "a[k] = self.sigma(z[k]) if k < self.n_layers else z[k]",
        "new": "a[k] = self.sigma(z[k])",
        "why": "the activation is applied to the logits too (forward only)",
    },
    {
        "name": "he-init-fan-out",
        "old": "* np.sqrt(2.0 / fan_in)",
        "new": "* np.sqrt(2.0 / fan_out)",
        "why": "He initialisation scaled by fan_out",
    },
    {
        "name": "init-one-rng-per-layer",
        "old": "self.params[f\"W{k}\"] = rng.standard_normal(",
        "new": "self.params[f\"W{k}\"] = np.random.default_rng(seed + k).standard_normal(",
        "why": "a fresh generator per layer instead of one generator layer by layer",
    },
    {
        "name": "backward-before-forward-not-checked",
        "old": "if self.cache is None:",
        "new": "if False:",
        "why": "no check: backward before forward fails with a TypeError on the empty cache",
    },
    {
        "name": "predict-argmax-axis-0",
        "old": "return np.argmax(self.forward(X), axis=1)",
        "new": "return np.argmax(self.forward(X), axis=0)",
        "why": "argmax over the batch instead of over the classes",
    },
    {
        "name": "numerical-gradient-forward-difference",
        "old": "grad[i] = (f_plus - f_minus) / (2 * h)",
        "new": "grad[i] = (f_plus - f(x)) / h",
        "why": "one-sided difference (f(x+h) - f(x)) / h: error O(h) instead of O(h**2)",
    },
    {
        "name": "numerical-gradient-restore-arithmetically",
        "old": "x[i] = saved  # the saved value",
        "new": "x[i] += h  # the saved value",
        "why": "x restored by undoing the step: (x - h) + h is not always x",
    },
    {
        "name": "numerical-gradient-works-on-a-copy",
        "old": "    grad = np.zeros_like(x)\n",
        "new": "    grad = np.zeros_like(x)\n    x = x.copy()\n",
        "why": "perturbs a copy: a closure reading the caller's x sees no change",
    },
    {
        "name": "numerical-gradient-float64-result",
        "old": "grad = np.zeros_like(x)",
        "new": "grad = np.zeros(x.shape)",
        "why": "float32 x gives a float64 gradient (float results keep the input's dtype)",
    },
    {
        "name": "numerical-gradient-ignores-h",
        "old": "x[i] = saved + h\n",
        "new": "h = 1e-5\n        x[i] = saved + h\n",
        "why": "the h argument is ignored",
    },
    {
        "name": "relative-error-without-floor",
        "old": "max(1e-8, np.max(np.abs(a) + np.abs(b)))",
        "new": "np.max(np.abs(a) + np.abs(b))",
        "why": "no 1e-8 floor: 0 / 0 for two zero arrays",
    },
    {
        "name": "relative-error-mean-not-max",
        "old": "float(np.max(np.abs(a - b)) /",
        "new": "float(np.mean(np.abs(a - b)) /",
        "why": "the mean instead of the max of |a - b|",
    },
    {
        "name": "relative-error-broadcasts",
        "old": "    if a.shape != b.shape:\n        raise ValueError(f\"relative_error",
        "new": "    if a.size != b.size:\n        raise ValueError(f\"relative_error",
        "why": "(3,) against (3, 1) broadcasts silently",
    },
    {
        "name": "unknown-activation-falls-back-to-relu",
        "old": (
            "        if activation not in ACTIVATIONS:\n"
            "            raise ValueError(\n"
            "                f\"unknown activation {activatio"
            "n!r}: choose one of {', '.join(ACTIVATIONS)}\"\n"
            "            )\n"
        ),
        "new": "        if activation not in ACTIVATIONS:\n            activation = \"relu\"\n",
        "why": "an unknown activation silently becomes relu",
    },
    {
        "name": "unknown-activation-key-error",
        "old": "        if activation not in ACTIVATIONS:\n",
        "new": "        if False:\n",
        "why": "no check: an unknown activation fails with a KeyError, not a ValueError",
    },
    {
        "name": "unknown-activation-unnamed",
        "old": "f\"unknown activation {activation!r}: choose one of {', '.join(ACTIVATIONS)}\"",
        "new": "\"bad argument\"",
        "why": "a ValueError whose message does not name the problem",
    },
    {
        "name": "forward-features-not-checked",
        "old": "        if X.ndim != 2 or X.shape[1] != self.layer_sizes[0]:\n",
        "new": "        if False:\n",
        "why": "a 1-D or 3-D X goes through the matrix products silently",
    },
    {
        "name": "backward-dlogits-shape-not-checked",
        "old": "        if np.shape(dlogits) != z[self.n_layers].shape:\n",
        "new": "        if False:\n",
        "why": "an (N, 1) dlogits broadcasts through BP3 and BP4",
    },
    {
        "name": "loss-without-label-checks",
        "old": (
            "        loss = cross_entropy(logits, labels)\n"
            "        return loss, self.backward(cross_entropy_grad(logits, labels))\n"
        ),
        "new": (
            "        from .activations import log_softmax, softmax\n"
            "        y = np.asarray(labels).astype(int)\n"
            "        rows = np.arange(len(y))\n"
            "        loss = float(-np.mean(log_softmax(logits, axis=1)[rows, y]))\n"
            "        dlogits = softmax(logits, axis=1)\n"
            "        dlogits[rows, y] -= 1\n"
            "        return loss, self.backward(dlogits / len(y))\n"
        ),
        "why": "its own cross-entropy, without the label checks: -1 picks the last class",
    },
    {
        "name": "loss-not-a-python-float",
        "old": "        return loss, self.backward(cross_entropy_grad(logits, labels))\n",
        "new": (
            "        return np.asarray(loss), self.back"
            "ward(cross_entropy_grad(logits, labels))\n"
        ),
        "why": "the loss comes back as a 0-d array, not a Python float",
    },
    {
        "name": "imports-a-later-exercise",
        "old": "from .losses import cross_entropy, cross_entropy_grad\n",
        "new": (
            "from .losses import cross_entropy, cross_entropy_gr"
            "ad\nfrom .matmul import matmul_flops  # noqa: F401\n"
        ),
        "why": "backprop imports matmul, which stands alone",
    },
]
