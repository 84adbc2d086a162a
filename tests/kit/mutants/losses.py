"""Common student mistakes in the losses exercise, as edits of solutions/losses.py."""

MUTANTS = [
    {
        "name": "mse-no-shape-check",
        "old": '    check_same_shape(pred, target, "mse: pred and target")\n',
        "new": "",
        "why": "(N,) against (N, 1) broadcasts to (N, N) and the loss is silently wrong",
    },
    {
        "name": "mse-returns-numpy-scalar",
        "old": "    return float(np.mean((pred - target) ** 2))",
        "new": "    return np.mean((pred - target) ** 2)",
        "why": "np.float32 for float32 inputs, not a Python float",
    },
    {
        "name": "mse-grad-missing-2",
        "old": "    return 2 * (pred - target) / pred.size",
        "new": "    return (pred - target) / pred.size",
        "why": "forgets the 2 of the derivative of a square",
    },
    {
        "name": "mse-grad-sign-flipped",
        "old": "    return 2 * (pred - target) / pred.size",
        "new": "    return 2 * (target - pred) / pred.size",
        "why": "differentiates with respect to the target",
    },
    {
        "name": "cross-entropy-sum",
        "old": "    return float(-np.mean(log_probs[np.arange(len(y)), y]))",
        "new": "    return float(-np.sum(log_probs[np.arange(len(y)), y]))",
        "why": "sums over the batch instead of taking the mean",
    },
    {
        "name": "cross-entropy-log-of-softmax",
        "old": "    log_probs = log_softmax(logits, axis=1)",
        "new": "    log_probs = np.log(softmax(logits, axis=1))",
        "why": "log(0) = -inf once a probability underflows (logits of 1e4)",
    },
    {
        "name": "cross-entropy-grad-missing-mean",
        "old": "    return grad / len(y)",
        "new": "    return grad",
        "why": "forgets the 1/N of the mean",
    },
    {
        "name": "negative-labels-accepted",
        "old": "labels.min() < 0 or ",
        "new": "",
        "why": "label -1 silently picks the last class",
    },
    {
        "name": "label-equal-to-c-accepted",
        "old": "labels.max() >= c",
        "new": "labels.max() > c",
        "why": "off by one: label C is out of range",
    },
    {
        "name": "fractional-labels-truncated",
        "old": "np.all(labels == np.round(labels))",
        "new": "True",
        "why": "label 1.5 silently becomes class 1",
    },
    {
        "name": "bce-naive-log-sigmoid",
        "old": "    return float(np.mean(np.maximum(x, 0) - x * t + np.log1p(np.exp(-np.abs(x)))))",
        "new": (
            "    s = sigmoid(x)\n"
            "    return float(np.mean(-t * np.log(s) - (1 - t) * np.log(1 - s)))"
        ),
        "why": "log(sigmoid(-1e4)) is log(0)",
    },
    {
        "name": "bce-grad-missing-mean",
        "old": "    return (sigmoid(x) - t) / x.size",
        "new": "    return sigmoid(x) - t",
        "why": "forgets the 1/N of the mean",
    },
    {
        "name": "bce-targets-unchecked",
        "old": '    check_probabilities(t, "binary_cross_entropy_with_logits: targets")\n',
        "new": "",
        "why": "targets outside [0, 1] give a meaningless loss",
    },
    {
        "name": "shape-error-without-the-shapes",
        "old": (
            'raise ValueError(f"{what} have shapes {a.'
            'shape} and {b.shape}; they must be equal")'
        ),
        "new": 'raise ValueError("bad input")',
        "why": "a ValueError whose message does not name the problem",
    },
    {
        "name": "imports-a-later-exercise",
        "old": "from .activations import log_softmax, sigmoid, softmax\n",
        "new": (
            "from .activations import log_softmax, sigmoid, so"
            "ftmax\nfrom .matmul import DTYPES  # noqa: F401\n"
        ),
        "why": "losses imports matmul, which comes after it (and stands alone)",
    },
    {
        "name": "bce-no-shape-check",
        "old": (
            '    check_same_shape(x, t, "binary_cross_entropy_with_logits: '
            'logits and targets")\n'
        ),
        "new": "",
        "why": "(N,) logits against (N, 1) targets broadcast to (N, N)",
    },
    {
        "name": "labels-shape-not-checked",
        "old": "    if labels.shape != (n,):\n",
        "new": "    if False:\n",
        "why": "(N, 1) labels index an (N, N) block of log-probabilities",
    },
]
