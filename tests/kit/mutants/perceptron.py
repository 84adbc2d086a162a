"""Buggy variants of solutions/perceptron.py (common student mistakes) the suites must catch."""

MUTANTS = [
    {
        "name": "predict-at-zero-is-1",
        "old": "(self.net_input(X) > 0).astype(np.int64)",
        "new": "(self.net_input(X) >= 0).astype(np.int64)",
        "why": "thresholds with >= 0: a net input of exactly 0 predicts 1",
    },
    {
        "name": "fit-thresholds-at-zero",
        "old": "update = float(self.lr * (y[i] - self.predict(X[i : i + 1])[0]))",
        "new": "update = float(self.lr * (y[i] - (self.net_input(X[i : i + 1])[0] >= 0)))",
        "why": "the +-1 textbook form (mistake when y * z <= 0) counts z == 0 as wrong for y = 0",
    },
    {
        "name": "update-from-net-input",
        "old": "update = float(self.lr * (y[i] - self.predict(X[i : i + 1])[0]))",
        "new": "update = float(self.lr * (y[i] - self.net_input(X[i : i + 1])[0]))",
        "why": "uses the net input instead of the prediction (the Adaline/LMS rule)",
    },
    {
        "name": "bias-not-updated",
        "old": "                self.b += update\n",
        "new": "",
        "why": "forgets the bias update",
    },
    {
        "name": "never-stops-early",
        "old": "            if mistakes == 0:\n                break\n",
        "new": "",
        "why": "keeps training after an epoch with no mistake",
    },
    {
        "name": "clean-epoch-not-recorded",
        "old": (
            "            mistakes_per_epoch.append(mistakes)\n"
            "            if mistakes == 0:\n"
            "                break\n"
        ),
        "new": (
            "            if mistakes == 0:\n"
            "                break\n"
            "            mistakes_per_epoch.append(mistakes)\n"
        ),
        "why": "stops before recording the epoch with 0 mistakes (off by one)",
    },
    {
        "name": "one-epoch-short",
        "old": "for _ in range(epochs):",
        "new": "for _ in range(epochs - 1):",
        "why": "runs epochs - 1 epochs",
    },
    {
        "name": "samples-in-reverse",
        "old": "for i in range(len(X)):",
        "new": "for i in reversed(range(len(X))):",
        "why": "visits the samples in another order than 0..N-1",
    },
    {
        "name": "cumulative-mistakes",
        "old": "mistakes_per_epoch.append(mistakes)",
        "new": "mistakes_per_epoch.append(mistakes + sum(mistakes_per_epoch))",
        "why": "returns the running total of mistakes, not each epoch's",
    },
    {
        "name": "predict-returns-bool",
        "old": "(self.net_input(X) > 0).astype(np.int64)",
        "new": "self.net_input(X) > 0",
        "why": "returns a boolean array instead of integer labels",
    },
    {
        "name": "fit-does-nothing",
        "old": "        X = check_samples(X, self.n_features)\n        y = np.asarray(y)\n",
        "new": "        return self\n",
        "why": "fit returns at once, leaving w and b at the zeros __init__ gave them",
        # Tests of net_input and predict on weights they set themselves, and of net_input's
        # checks, are not about fit: this mutant earns them honestly. Every test of fit fails.
        "may_pass": [
            "test_new_perceptron_predicts_0_on_the_boundary",
            "test_net_input_is_x_dot_w_plus_b",
            "test_predict_is_integer_and_thresholds_net_input",
            "test_net_input_rejects_wrong_shapes",
        ],
    },
    {
        "name": "fit-checks-then-does-nothing",
        "old": "        mistakes_per_epoch: list[int] = []\n",
        "new": "        return []\n",
        "why": "fit checks its input, then returns no epochs without training",
        # As above, plus the tests of fit's input checks, which this mutant does write.
        "may_pass": [
            "test_new_perceptron_predicts_0_on_the_boundary",
            "test_net_input_is_x_dot_w_plus_b",
            "test_predict_is_integer_and_thresholds_net_input",
            "test_net_input_rejects_wrong_shapes",
            "test_fit_rejects_wrong_feature_count",
            "test_fit_rejects_labels_of_another_length",
            "test_fit_rejects_labels_other_than_0_and_1",
            "test_fit_rejects_fractional_labels",
            "test_fit_rejects_1d_X",
        ],
    },
    {
        "name": "labels-not-checked",
        "old": "        if not np.isin(y, (0, 1)).all():\n",
        "new": "        if False:\n",
        "why": "accepts labels other than 0 and 1 (e.g. the -1/+1 convention)",
    },
    {
        "name": "imports-a-later-exercise",
        "old": "from numpy.typing import ArrayLike\n",
        "new": (
            "from numpy.typing import ArrayLike\n\nfrom "
            ".matmul import matmul_flops  # noqa: F401\n"
        ),
        "why": "perceptron imports matmul, which comes after it",
    },
    {
        "name": "x-shape-not-checked",
        "old": "    if X.ndim != 2 or X.shape[1] != n_features:\n",
        "new": "    if False:\n",
        "why": "a 1-D X gives one net input, not one per sample",
    },
    {
        "name": "label-count-not-checked",
        "old": "        if y.shape != (len(X),):\n",
        "new": "        if False:\n",
        "why": "fewer labels than samples fail with an IndexError, not a ValueError",
    },
]
