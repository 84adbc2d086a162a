"""The sandbox's messages: every key and name that crosses between the grader
(grader/sandbox/client.py) and the worker (worker.py), defined once for both sides.

A message is one JSON object, the header of a channel.py frame; the values in it are wire.py nodes
(arrays travel in the frame's buffers). The keys stay one or a few letters: every call through
the sandbox sends two messages or more, and the header is encoded and parsed each time.

The keys are `Key` attributes (`Key.` is left out below). Messages, and who sends them:

| message  | sent by                        | keys                                               |
| -------- | ------------------------------ | -------------------------------------------------- |
| greeting | worker, once, when ready       | HELLO: its pid                                     |
| request  | grader                         | OP: an `Op`; that op's keys (below)                |
| callback | worker, serving a request      | OP: `Op.CALLBACK`; CALLBACK_ID, ARGS, KWARGS       |
| reply    | worker to a request, grader to | one outcome (below); WARNINGS (worker's only)      |
|          | a callback                     |                                                    |

A request's keys, by op:

| op            | keys                            | what the worker does                          |
| ------------- | ------------------------------- | --------------------------------------------- |
| `Op.IMPORT`   | EXERCISE                        | imports it; result: the module (a handle)     |
| `Op.GETATTR`  | HANDLE, NAME                    | reads the attribute; result: a dict of        |
|               |                                 | `Attribute.VALUE` and `Attribute.FIXED` (a    |
|               |                                 | function, method or class: a proxy may keep   |
|               |                                 | it)                                           |
| `Op.SETATTR`  | HANDLE, NAME, VALUE             | sets the attribute; result: None              |
| `Op.CALL`     | HANDLE, ARGS, KWARGS (if any)   | calls the object                              |
| `Op.PROTOCOL` | HANDLE, FUNCTION (a `Builtin`), | a builtin operation: iter, next, len, ...     |
|               | ARGS                            |                                               |
| `Op.RUN`      | EXERCISE, SOURCE, FUNCTION,     | defines FUNCTION from SOURCE (a test's        |
|               | ARGS, KWARGS                    | scenario) and calls it with the exercise's    |
|               |                                 | module and the arguments                      |

A reply's outcome, one of:

| key          | sent by | meaning                                                              |
| ------------ | ------- | -------------------------------------------------------------------- |
| RESULT       | both    | the value returned (a node)                                          |
| EXCEPTION    | both    | the exception raised, as `Exc` keys (wire.describe_exception)        |
| STOP         | worker  | the iterator ended (StopIteration)                                   |
| IMPORT_ERROR | worker  | the exercise failed to import: one line for a student               |

What a message may carry besides (it keeps the two sides' objects in step):

| key                | sent by          | meaning                                                |
| ------------------ | ---------------- | ------------------------------------------------------ |
| MIRRORS            | both, any        | nodes of the mirrored arrays and Generators that       |
|                    |                  | changed since the sender's last message                |
| DROP               | worker, any      | mirror ids the submission let go of                    |
| RELEASE            | grader, request  | [handle, times]: proxies the test let go of, and how   |
|                    |                  | many times each had received its handle                |
| CALLBACKS_RELEASED | worker, any      | callback ids the worker holds no more                  |
| ERRSTATE           | grader, request  | the caller's np.errstate, when it changed              |
| WARNINGS           | worker, reply    | the call's warnings: [names of the class's MRO, text]  |
| OUTPUT_KEPT        | grader, request  | bytes of a test's output the grader keeps (the first   |
|                    |                  | request of a worker): past them, output is dropped     |
| OUTPUT_DROPPED     | worker, reply    | bytes of output dropped during the request            |

Besides wire.py's own nodes, each side encodes objects of the other as a `Node`:
`{Node.TAG: Node.HANDLE, Node.ID: n, Node.TYPE: type name}` is an object that stays in the
worker (the grader holds a proxy); `{Node.TAG: Node.CALLBACK, Node.ID: n}` is a function of the
test's, called back in the grader.
"""

from __future__ import annotations

from typing import Final


class Key:
    """The keys of a message."""

    OP: Final = "op"
    HELLO: Final = "hello"
    # A request's (and a callback's) arguments
    HANDLE: Final = "h"
    NAME: Final = "n"
    VALUE: Final = "v"
    ARGS: Final = "a"
    KWARGS: Final = "k"
    EXERCISE: Final = "ex"
    SOURCE: Final = "src"
    FUNCTION: Final = "fn"
    CALLBACK_ID: Final = "id"
    # A reply's outcome
    RESULT: Final = "r"
    EXCEPTION: Final = "exc"
    STOP: Final = "stop"
    IMPORT_ERROR: Final = "imperr"
    WARNINGS: Final = "warn"
    # What keeps the two sides in step
    MIRRORS: Final = "mir"
    DROP: Final = "drop"
    RELEASE: Final = "rel"
    CALLBACKS_RELEASED: Final = "cbrel"
    ERRSTATE: Final = "err"
    OUTPUT_KEPT: Final = "outk"
    OUTPUT_DROPPED: Final = "outd"


class Op:
    """What a request asks (`Key.OP`)."""

    IMPORT: Final = "import"
    GETATTR: Final = "getattr"
    SETATTR: Final = "setattr"
    CALL: Final = "call"
    PROTOCOL: Final = "protocol"
    RUN: Final = "run"
    CALLBACK: Final = "cb"  # the worker's request: call back a function of the test's


class Builtin:
    """The builtin operations an `Op.PROTOCOL` request names (`Key.FUNCTION`)."""

    ITER: Final = "iter"
    NEXT: Final = "next"
    LEN: Final = "len"
    BOOL: Final = "bool"
    GETITEM: Final = "getitem"
    SETITEM: Final = "setitem"
    CONTAINS: Final = "contains"


class Attribute:
    """The keys of an `Op.GETATTR` request's result."""

    VALUE: Final = "v"
    FIXED: Final = "fixed"


class Exc:
    """The keys of an exception that crosses (`Key.EXCEPTION`)."""

    MRO: Final = "mro"  # the names of its classes
    MESSAGE: Final = "msg"
    TRACEBACK: Final = "tb"  # the submission's own frames, as text
    # An exception a callback raised on the other side, come back through unchanged: that side
    # raises its original again.
    TOKEN: Final = "tok"


class Node:
    """The nodes of the peers' own objects (wire.py encodes everything else)."""

    TAG: Final = "$"  # wire.py's key for a node's kind
    HANDLE: Final = "h"
    CALLBACK: Final = "cb"
    ID: Final = "id"
    TYPE: Final = "t"
