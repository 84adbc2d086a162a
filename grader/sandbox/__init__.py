"""Where the submission's code runs: a worker process under limits, reached by data only.

`client` (trusted) starts workers and turns calls into messages; `errors` are the failure kinds
as types; `limits` the kernel and clock limits; `zygote` forks a batch's sandboxes;
`isolation` the backends (where the worker lives); `runtime` is everything the worker imports,
copied whole into its root. May import: `grader.kit`. The runtime imports nothing of the grader.
"""
