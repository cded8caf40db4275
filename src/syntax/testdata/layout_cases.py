# Layout cases: each construct as `ruff format` lays it out.
import os, sys
from typing import (
    Any,
    Dict,
)

__all__ = ["Model", "build"]
value = "single quotes" + "it's" + 'say "hi"' + "tab\there"
numbers = [0xFF, 1e5, 1_000_000, 0o17, 0b1010, 3.14j, 10.0, 1e-05, -0.001, +2]
power = a**2 + b**-1 + (a + b) ** 2 + x.y ** z[0]
slices = x[1:2], x[a + 1 :], x[::step], x[:, None, ...], x[fn(a) : fn(b)]
data = (
    tf.data.Dataset.from_tensor_slices((features, labels))
    .shuffle(buffer_size=1024)
    .batch(32)
    .prefetch(2)
)
kernel_value, merged_kernel_scale, merged_kernel_zero = (
    self._get_kernel_with_merged_lora_weights()
)
self.weights[index] = some_function_with_a_long_name(
    first_argument_value, second_argument_value
)
loss_function = lambda y_true, y_pred: np.sum(
    np.abs(y_true - y_pred), axis=1, keepdims=True, where=mask
)
magic = [
    1,
    2,
]
call_with_magic(
    a,
    b,
)
empty_list, empty_dict, empty_tuple, single = [], {}, (), (1,)
nested = {"a": {"b": [1, 2, {"c": (3, 4)}]}, "d": [[1, 2], [3, 4]], "e": ((1,), (2, 3))}
condition = (
    first_condition_value
    and second_condition_value
    or not third_condition_value
    and fourth_value
)
comparison = (
    aaaaaaaaaaaaaaaa
    < bbbbbbbbbbbbbbbbbbbbbbbbbb
    <= cccccccccccccccccccccccc
    is not None
    in dddddddddd
)
layers = [  # one per line
    nn.Linear(10, 10),
]
if x:
    pass
elif y:  # elif comment
    pass

else:  # else comment
    pass
for i in range(10):
    if i % 2:
        continue
else:
    print("done")
while not finished:
    step()
    # end of loop body


@decorator  # trailing
# between decorators
@other.decorator(with_args=True)
def stub(): ...
def stub2(x): ...


class Empty: ...


class Base(object, metaclass=ABCMeta):
    x: int = 0
    y: Dict[str, Any]

    def method(self):
        return self.x, self.y

    @abstractmethod
    def other(self, *args, key=None, **kwargs) -> None:
        raise NotImplementedError("subclasses implement this")


def very_long_function_name_with_many_parameters(
    first_parameter, second_parameter, third
):
    assert first_parameter is not None, "first parameter must be given to this function"
    result = (
        first_parameter.compute(second_parameter).transform(third).finalize(strict=True)
    )
    return result


def annotated(
    a: int, b: "Model" = None, *, c: list[int] | None = None
) -> dict[str, list[int]]:
    del a
    global counter
    try:
        import numpy
    except ImportError:
        numpy = None
    with open(path) as f, open(other) as g:
        text = f.read()
    return {"a": [a]}


x = some.very.long.attribute.chain.that.goes.on.and_on.and_on.until.it.doesnt.fit.anymore.at_all
total = (
    first_value_in_the_sum + second_value_in_the_sum + third_value_in_the_sum + fourth
)


def training_loop(model, loader, optimizer, epochs=10):
    for epoch in range(epochs):
        with torch.no_grad():
            model.eval()
        with (
            open("log.txt", "a") as log,
            torch.autocast("cuda", dtype=torch.float16, enabled=False),
        ):
            log.write(f"epoch {epoch} started\n")
        if epoch < 0:
            raise ValueError("epochs must be positive: got a negative epoch") from None
        message = (
            "a long message that is split "
            "over two parts because it is long enough "
            "to wrap"
        )
        half = 0.5 * epoch
    return model
