"""Buggy variants of solutions/sgd.py (common student mistakes) the suites must catch."""

MUTANTS = [
    {
        "name": "momentum-dampened",
        "old": "v = self.momentum * self.velocity[name] + g if name in self.velocity else g",
        "new": (
            "v = self.momentum * self.velocity.get(name, np.zeros_like(g))"
            " + (1 - self.momentum) * g"
        ),
        "why": "exponential average from a zero buffer (v = m v + (1 - m) g), not torch's rule",
    },
    {
        "name": "buffer-stores-gradient",
        "old": "self.velocity[name] = v",
        "new": "self.velocity[name] = g",
        "why": "keeps the last gradient as the buffer instead of the velocity",
    },
    {
        "name": "weight-decay-after-momentum",
        "old": "self.velocity[name] = v",
        "new": "self.velocity[name] = v - self.weight_decay * p",
        "why": "the buffer accumulates only the gradients; weight decay is added after momentum "
        "(p -= lr * (v + wd * p)), not to g before it",
    },
    {
        "name": "weight-decay-sign",
        "old": "g = grads[name] + self.weight_decay * p",
        "new": "g = grads[name] - self.weight_decay * p",
        "why": "weight decay with the wrong sign grows the weights",
    },
    {
        "name": "not-in-place",
        "old": "            p -= self.lr * v\n",
        "new": "            self.params[name] = p - self.lr * v\n",
        "why": "rebinds params[name] to a new array: the caller's arrays never change",
    },
    {
        "name": "grads-modified",
        "old": "g = grads[name] + self.weight_decay * p  # a new array: grads stays untouched",
        "new": "g = grads[name]\n            g += self.weight_decay * p",
        "why": "adds the weight decay into the caller's gradient array",
    },
    {
        "name": "buffer-aliases-grads",
        "old": "g = grads[name] + self.weight_decay * p  # a new array: grads stays untouched",
        "new": "g = grads[name] + self.weight_decay * p if self.weight_decay else grads[name]",
        "why": "the momentum buffer is the caller's gradient array, which may be refilled later",
    },
    {
        "name": "keys-not-checked",
        "old": "        if set(grads) != set(self.params):\n",
        "new": "        if not set(self.params) <= set(grads):\n",
        "why": "ignores extra keys in grads",
    },
    {
        "name": "drops-last-partial-batch",
        "old": "for start in range(0, n_samples, batch_size):",
        "new": "for start in range(0, n_samples - batch_size + 1, batch_size):",
        "why": "drops the smaller last batch",
    },
    {
        "name": "shuffle-with-another-rng-call",
        "old": "order = (np.random.default_rng() if rng is None else rng).permutation(n_samples)",
        "new": (
            "order = np.argsort((np.random.default_rng() if rng is None else rng)"
            ".random(n_samples))"
        ),
        "why": "a random order, but not rng.permutation(n_samples)",
    },
    {
        "name": "negative-batch-size-accepted",
        "old": "    if batch_size <= 0:\n",
        "new": "    if batch_size == 0:\n",
        "why": "a negative batch_size is accepted (and yields nothing)",
    },
    {
        "name": "loss-before-epoch",
        "old": (
            "        for batch in iterate_minibatches(len(X), batch_size, shuffle=True, rng=rng):\n"
            "            X_b = X[batch]\n"
            "            dpred = mse_grad(X_b @ params[\"w\"] + params[\"b\"], y[batch])  # (B,)\n"
            "            optimizer.step({\"w\": X_b.T @ dpred, \"b\": dpred.sum()})\n"
            "        losses.append(mse(X @ params[\"w\"] + params[\"b\"], y))\n"
        ),
        "new": (
            "        losses.append(mse(X @ params[\"w\"] + params[\"b\"], y))\n"
            "        for batch in iterate_minibatches(len(X), batch_size, shuffle=True, rng=rng):\n"
            "            X_b = X[batch]\n"
            "            dpred = mse_grad(X_b @ params[\"w\"] + params[\"b\"], y[batch])  # (B,)\n"
            "            optimizer.step({\"w\": X_b.T @ dpred, \"b\": dpred.sum()})\n"
        ),
        "why": "records the loss before each epoch instead of after it",
    },
    {
        "name": "bias-gradient-mean",
        "old": "\"b\": dpred.sum()",
        "new": "\"b\": dpred.mean()",
        "why": "the bias gradient is the sum of dL/dpred over the batch, not its mean",
    },
    {
        "name": "fixed-order-training",
        "old": "iterate_minibatches(len(X), batch_size, shuffle=True, rng=rng)",
        "new": "iterate_minibatches(len(X), batch_size, shuffle=False, rng=rng)",
        "why": "trains on the batches in the same order every epoch",
    },
    {
        "name": "imports-a-later-exercise",
        "old": "from .losses import mse, mse_grad\n",
        "new": (
            "from .backprop import relative_error  # noq"
            "a: F401\nfrom .losses import mse, mse_grad\n"
        ),
        "why": "sgd imports backprop, which comes after it",
    },
    {
        "name": "gradient-shape-not-checked",
        "old": "            if np.shape(grads[name]) != p.shape:\n",
        "new": "            if False:\n",
        "why": "a gradient of shape (1,) broadcasts over its parameter",
    },
]
