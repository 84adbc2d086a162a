"""Common student mistakes in the activations exercise, as edits of solutions/activations.py."""

MUTANTS = [
    {
        "name": "naive-sigmoid",
        "old": "    e = np.exp(-np.abs(z))\n    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))",
        "new": "    return 1 / (1 + np.exp(-z))",
        "why": "the textbook formula: exp(-z) overflows for z = -1e4",
    },
    {
        "name": "sigmoid-grad-of-z",
        "old": "    return sigmoid(z) * sigmoid(-z)",
        "new": "    return sigmoid(z) * (1 - z)",
        "why": "s * (1 - s) with z written where s(z) belongs",
    },
    {
        "name": "relu-grad-one-at-zero",
        "old": "(z > 0)",
        "new": "(z >= 0)",
        "why": "relu_grad(0) = 1, where the contract (and PyTorch) take 0",
    },
    {
        "name": "relu-in-place",
        "old": "    return np.maximum(z, 0)",
        "new": "    z[z < 0] = 0\n    return z",
        "why": "clips the caller's array in place",
    },
    {
        "name": "relu-keeps-integers",
        "old": "    z = _as_float(z)\n    return np.maximum(z, 0)",
        "new": "    z = np.asarray(z)\n    return np.maximum(z, 0)",
        "why": "integer input gives an integer result instead of float64",
    },
    {
        "name": "relu-grad-float64",
        "old": "astype(z.dtype)",
        "new": "astype(float)",
        "why": "float32 input gives a float64 gradient",
    },
    {
        "name": "tanh-grad-of-z",
        "old": "    return 1 - np.tanh(z) ** 2",
        "new": "    return 1 - z ** 2",
        "why": "1 - a**2 with z written where a = tanh(z) belongs",
    },
    {
        "name": "softmax-without-max-shift",
        "old": "    e = np.exp(z - np.max(z, axis=axis, keepdims=True))",
        "new": "    e = np.exp(z)",
        "why": "exp(1e4) overflows: inf / inf is nan",
    },
    {
        "name": "softmax-sums-last-axis",
        "old": "    return e / np.sum(e, axis=axis, keepdims=True)",
        "new": "    return e / np.sum(e, axis=-1, keepdims=True)",
        "why": "ignores `axis` when normalising",
    },
    {
        "name": "log-of-softmax",
        "old": (
            "    shifted = z - np.max(z, axis=axis, keepdims=True)\n"
            "    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))"
        ),
        "new": "    return np.log(softmax(z, axis=axis))",
        "why": "log of a probability that underflowed to 0 is -inf",
    },
    {
        "name": "imports-a-later-exercise",
        "old": "import numpy as np\n",
        "new": "import numpy as np\n\nfrom .matmul import matmul_flops  # noqa: F401\n",
        "why": "activations imports matmul: the contract's order allows no import here",
    },
]
