"""The sandbox's proxy behaves like the module itself, as far as the suites can tell.

A tiny synthetic submission (written to a temporary folder) is served by one real worker.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from grader.sandbox.client import WorkerClient
from grader.sandbox.errors import InputModified
from grader.sandbox.limits import Limits
from grader.sandbox.remote import SandboxImpl
from grader.sandbox.runtime.loading import ExerciseImportError

SUBMISSION = '''
import warnings

import numpy as np


class ShapeError(ValueError):
    pass


class Lying(np.ndarray):
    pass


def add(a, b):
    return a + b


def scale_in_place(x, factor):
    x *= factor


def same(x):
    return x


def first_float32(x):
    return np.float32(x[0])


def apply(f, x):
    return f(x) + 1


def perturb_and_call(f, x, h):
    old = x[0]
    x[0] = old + h
    value = f(x)
    x[0] = old
    return value


def reject(x):
    if x.ndim != 1:
        raise ShapeError(f"expected a vector, got shape {x.shape}")
    return x


def exp(z):
    return np.exp(z)


def loosen():
    np.seterr(all="ignore")


def warn():
    warnings.warn("careful", RuntimeWarning)
    return 1


def lying():
    return np.zeros(3).view(Lying)


def draw(rng, n):
    return rng.permutation(n)


def batches(n, rng):
    order = rng.permutation(n)
    for start in range(0, n, 2):
        yield order[start:start + 2]


def shout(text):
    print(text)
    return len(text)


def keep(x):
    global kept
    kept = x


def overwrite_kept():
    kept[...] = 0.0


def overwrite_kept_and_fail():
    kept[...] = 0.0
    raise ValueError("after the overwrite")


def kept_copy():
    return kept.copy()
'''

# SGD is the class of the contract whose `step` updates, in place, the arrays given to its
# constructor (grader.kit.UPDATES_IN_PLACE); Stepper, the same code in activations, may not.
# Its step also adds 1 to every array `keep` kept.
STEPPER = '''
kept = []


def keep(x):
    kept.append(x)


def forget():
    kept.clear()


class {name}:
    def __init__(self, params, lr):
        self.params = params
        self.lr = lr
        self.steps = 0

    def step(self, grads):
        for key, p in self.params.items():
            p -= self.lr * grads[key]
        for x in kept:
            x += 1.0
        self.steps += 1
        return self

    def reset(self):
        for p in self.params.values():
            p[...] = 0.0

    def __len__(self):
        return self.steps

    def __getitem__(self, key):
        return self.params[key]
'''


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorkerClient]:
    folder = tmp_path_factory.mktemp("submission")
    (folder / "activations.py").write_text(SUBMISSION)
    (folder / "perceptron.py").write_text(STEPPER.format(name="Stepper"))
    (folder / "sgd.py").write_text(STEPPER.format(name="SGD"))
    (folder / "losses.py").write_text("def mse(a, b):\n    return (a - b\n")
    client = WorkerClient(folder, Limits(call_timeout_s=20))
    yield client
    client.close()


@pytest.fixture
def remote(client: WorkerClient) -> SandboxImpl:
    return SandboxImpl(client, "activations")


@pytest.fixture
def sgd(client: WorkerClient) -> SandboxImpl:
    return SandboxImpl(client, "sgd")


def test_functions_return_plain_arrays(remote: SandboxImpl) -> None:
    out = remote.add(np.ones(2), np.arange(2.0))
    assert type(out) is np.ndarray and np.array_equal(out, [1.0, 2.0])


def test_numpy_scalar_types_survive(remote: SandboxImpl) -> None:
    assert type(remote.first_float32(np.array([1.5]))) is np.float32


def test_a_call_that_changes_its_own_argument_fails_and_the_array_is_put_back(
    remote: SandboxImpl,
) -> None:
    # The contract: no function modifies its inputs. Were the change kept, a test computing its
    # expected value from the same array afterwards would be fooled.
    x = np.arange(3.0)
    with pytest.raises(InputModified, match=r"scale_in_place\(\.\.\.\) changed an array"):
        remote.scale_in_place(x, 2.0)
    assert np.array_equal(x, [0.0, 1.0, 2.0])


def test_a_later_call_that_changes_an_array_handed_over_earlier_fails_and_puts_it_back(
    remote: SandboxImpl,
) -> None:
    # A delayed overwrite: kept from one call, changed in the next. Were it kept, `p.fit(X, y)`
    # then `assert_equal(p.predict(X), y)` would pass for a predict that writes its answer to y.
    x = np.arange(3.0)
    remote.keep(x)
    with pytest.raises(InputModified, match=r"^activations\.overwrite_kept\(\.\.\.\) changed an "
                                            r"array that the test had handed over in an earlier "
                                            r"call"):
        remote.overwrite_kept()
    assert np.array_equal(x, [0.0, 1.0, 2.0])
    assert np.array_equal(remote.kept_copy(), [0.0, 1.0, 2.0])  # put back in the worker too
    x[0] = 5.0  # the test's own change is its array's new state
    with pytest.raises(InputModified):
        remote.overwrite_kept_and_fail()  # its ValueError would hide the overwrite
    assert np.array_equal(x, [5.0, 1.0, 2.0])


def test_only_the_contracts_in_place_update_changes_params_a_later_call(
    client: WorkerClient, sgd: SandboxImpl,
) -> None:
    params = {"w": np.ones(2)}
    stepper = SandboxImpl(client, "perceptron").Stepper(params, 0.5)
    with pytest.raises(InputModified, match=r"^Stepper\.step\(\.\.\.\) changed an array that"):
        stepper.step({"w": np.ones(2)})
    assert np.array_equal(params["w"], [1.0, 1.0])
    opt = sgd.SGD(params, 0.5)
    opt.step({"w": np.ones(2)})
    assert np.array_equal(params["w"], [0.5, 0.5])  # SGD.step updates its params in place
    with pytest.raises(InputModified, match=r"^SGD\.reset\(\.\.\.\) changed an array that"):
        opt.reset()  # another method of SGD may not
    assert np.array_equal(params["w"], [0.5, 0.5])


def test_sgd_step_may_change_its_own_params_only(sgd: SandboxImpl) -> None:
    a, b = np.ones(2), np.ones(2)
    first, second = sgd.SGD({"w": a}, 0.5), sgd.SGD({"w": b}, 0.5)
    sgd.keep(a)  # each step now adds 1 to a, the first instance's parameter
    try:
        first.step({"w": np.ones(2)})
        assert np.array_equal(a, [1.5, 1.5])  # its own: a - 0.5 * 1, then + 1
        with pytest.raises(InputModified, match=r"^SGD\.step\(\.\.\.\) changed an array that "
                                                r"the test had handed over in an earlier call"):
            second.step({"w": np.ones(2)})
    finally:
        sgd.forget()
    assert np.array_equal(a, [1.5, 1.5])  # as the first step left it
    assert np.array_equal(b, [0.5, 0.5])  # the second's own update stands


def test_an_argument_returned_is_the_callers_own_object(remote: SandboxImpl) -> None:
    x = np.ones(2)
    assert remote.same(x) is x


def test_callbacks_run_in_the_test(remote: SandboxImpl) -> None:
    seen = []
    assert remote.apply(lambda v: seen.append(v.shape) or float(v.sum()), np.ones(3)) == 4.0
    assert seen == [(3,)]


def test_a_callback_sees_the_perturbation_through_its_closure(remote: SandboxImpl) -> None:
    x = np.array([1.0, 2.0])
    assert remote.perturb_and_call(lambda _: float(x[0]), x, 0.5) == 1.5
    assert np.array_equal(x, [1.0, 2.0])  # restored in the worker, mirrored back


def test_a_callback_may_call_the_submission_while_its_argument_is_perturbed(
    remote: SandboxImpl,
) -> None:
    # numerical_gradient(lambda v: impl.f(v), x): the perturbed x is the inner call's argument.
    x = np.array([1.0, 2.0])
    assert remote.perturb_and_call(lambda v: float(remote.add(v, 0.0)[0]), x, 0.5) == 1.5
    assert np.array_equal(x, [1.0, 2.0])


def test_a_callbacks_exception_comes_back_as_itself(remote: SandboxImpl) -> None:
    error = AssertionError("raised by the test's function")

    def fail(_: np.ndarray) -> float:
        raise error

    with pytest.raises(AssertionError) as caught:
        remote.apply(fail, np.ones(1))
    assert caught.value is error


def test_student_exceptions_keep_their_builtin_type_and_frames(remote: SandboxImpl) -> None:
    with pytest.raises(ValueError, match="expected a vector") as caught:
        remote.reject(np.ones((2, 2)))
    message = str(caught.value)
    assert message.startswith("ShapeError: expected a vector, got shape (2, 2)")
    assert 'File "activations.py", line' in message and "raise ShapeError" in message


def test_the_callers_errstate_applies_in_the_worker(remote: SandboxImpl) -> None:
    big = np.array([1000.0])
    with np.errstate(over="raise"), pytest.raises(FloatingPointError):
        remote.exp(big)
    with np.errstate(over="ignore"):
        assert np.isinf(remote.exp(big)[0])


def test_the_callers_errstate_holds_after_the_submission_changes_its_own(
    remote: SandboxImpl,
) -> None:
    big = np.array([1000.0])
    with np.errstate(over="raise"):
        with pytest.raises(FloatingPointError):
            remote.exp(big)
        remote.loosen()  # the grader's errstate is unchanged, so it is not sent again
        with pytest.raises(FloatingPointError):
            remote.exp(big)


def test_warnings_are_raised_again_in_the_test(remote: SandboxImpl) -> None:
    with pytest.warns(RuntimeWarning, match="careful"):
        assert remote.warn() == 1


def test_an_ndarray_subclass_is_refused_with_a_clear_message(remote: SandboxImpl) -> None:
    with pytest.raises(TypeError, match=r"subclass of numpy\.ndarray"):
        remote.lying()


def test_generators_advance_the_callers_rng(remote: SandboxImpl) -> None:
    rng, expected = np.random.default_rng(5), np.random.default_rng(5)
    assert np.array_equal(remote.draw(rng, 6), expected.permutation(6))
    assert rng.random() == expected.random()


def test_generator_functions_come_back_as_iterable_handles(remote: SandboxImpl) -> None:
    rng, expected = np.random.default_rng(1), np.random.default_rng(1)
    batches = remote.batches(5, rng)
    assert rng.bit_generator.state == expected.bit_generator.state  # nothing drawn yet
    got = list(batches)
    order = expected.permutation(5)
    assert [b.tolist() for b in got] == [order[:2].tolist(), order[2:4].tolist(), [order[4]]]
    assert rng.random() == expected.random()


def test_instances_are_handles_with_methods_attributes_and_protocols(sgd: SandboxImpl) -> None:
    params = {"w": np.ones(2)}
    stepper = sgd.SGD(params, 0.5)
    assert stepper.step({"w": np.ones(2)}) is stepper
    assert np.array_equal(params["w"], [0.5, 0.5])  # updated in place in the worker
    assert stepper.steps == 1 and len(stepper) == 1
    assert np.array_equal(stepper["w"], [0.5, 0.5])
    params["w"][:] = 10.0  # the test's change reaches the array the instance holds
    stepper.lr = 1.0
    stepper.step({"w": np.ones(2)})
    assert np.array_equal(params["w"], [9.0, 9.0])
    assert "SGD" in repr(stepper)


def test_missing_names_raise_attribute_error(remote: SandboxImpl) -> None:
    with pytest.raises(AttributeError):
        remote.no_such_function  # noqa: B018


def double_in_worker(module, values: list) -> list:
    """A scenario: runs next to the implementation."""
    x = np.array(values)
    module.scale_in_place(x, 2.0)
    return x.tolist()


def test_scenarios_run_next_to_the_implementation(remote: SandboxImpl) -> None:
    assert remote.run(double_in_worker, [1.0, 2.0]) == [2.0, 4.0]


def test_a_scenario_must_be_a_top_level_function(remote: SandboxImpl) -> None:
    def nested(module):
        return 1

    with pytest.raises(TypeError, match="top-level"):
        remote.run(nested)


def test_output_is_captured_not_printed(remote: SandboxImpl, client: WorkerClient,
                                        capfd: pytest.CaptureFixture[str]) -> None:
    client.take_output()
    assert remote.shout("hello from the submission") == 25
    assert "hello from the submission" in client.take_output()
    assert "hello" not in capfd.readouterr().out


def test_an_exercise_that_fails_to_import_fails_alone(client: WorkerClient) -> None:
    with pytest.raises(ExerciseImportError, match=r"^losses.py does not compile"):
        SandboxImpl(client, "losses")
    assert np.array_equal(SandboxImpl(client, "activations").add(1, 2), 3)


def test_a_value_that_cannot_cross_fails_before_anything_is_sent(remote: SandboxImpl) -> None:
    with pytest.raises(TypeError, match="cannot be passed"):
        remote.add(object(), 1)
    assert remote.add(1, 2) == 3


@pytest.mark.parametrize("folder_name", ["solutions"])
def test_the_reference_runs_in_the_sandbox(folder_name: str) -> None:
    from grader.kit import kit_root

    folder = kit_root() / folder_name
    if not (folder / "activations.py").is_file():
        pytest.skip("no reference activations yet")
    client = WorkerClient(Path(folder))
    try:
        z = np.linspace(-5, 5, 11)
        np.testing.assert_allclose(SandboxImpl(client, "activations").sigmoid(z),
                                   1 / (1 + np.exp(-z)))
    finally:
        client.close()
