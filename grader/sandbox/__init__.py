"""Where the submission's code runs: a worker process under limits, reached by data only.

`client` (trusted) turns the proxies' (`remote`) calls into messages, `process` starts and
stops the worker, `settle` ends a request for the test; `errors` are the failure kinds as
types; `limits` the kernel and clock limits; `zygote` forks a batch's sandboxes; `isolation`
the backends (where the worker lives); `runtime` is everything the worker imports, copied whole
into its root (`runtime.protocol`: the messages). May import: `grader.kit`. The runtime imports
nothing of the grader.
"""
