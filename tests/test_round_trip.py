"""Round trips: A -> B -> A gives the same pivot model, for every example network.

Each example is migrated to the other framework and back (`--layout native` both ways,
so no layout transposes are added), and the pivot model of the result (`nnport inspect
--format json`) is compared with the source's, up to what a migration legitimately
renames or respells:

- names: module paths, value names, Keras layer names;
- an activation given on a layer (`Dense(..., activation="relu")`) and the same
  activation as its own node after the layer (`F.relu(self.fc(x))`);
- a recurrent layer returning its whole sequence the PyTorch way (`output, (h, c)`
  with the states unused) and the Keras way (`return_sequences=True`);
- two permutes in a row that undo each other (a layout change the intermediate file wrote
  explicitly, met by the one the way back adds);
- a global pooling keeping its unit axes and a Flatten after it, and the pooling without
  them (`nn.AdaptiveAvgPool2d(1), nn.Flatten()` is how PyTorch spells
  `GlobalAveragePooling2D()`).

(TensorFlow's padding="same" with a stride pads more at the end; the PyTorch file pads
explicitly, `conv(F.pad(x, (0, 1, 0, 1)))`, and the way back folds that into
`padding="same"` again: no special case here.)

Only `nnport convert` and `nnport inspect` run: no framework is needed.
"""

from __future__ import annotations

import json

import pytest

NAME_ATTRS = {"keras_name", "flattened_layout"}
RECURRENT = {"lstm", "gru", "rnn"}
# the parameters an activation given by name has (keras.activations' defaults)
ACTIVATION_DEFAULTS = {
    "softmax": {"dim": -1},
    "log_softmax": {"dim": -1},
    "leaky_relu": {"negative_slope": 0.2},
    "elu": {"alpha": 1.0},
    "gelu": {"approximate": "none"},
    "softplus": {"beta": 1.0, "threshold": 20.0},
}


def cancel_inverse_permutes(pivot: dict) -> None:
    """Drops pairs of permutes that undo each other (a layout change a migration wrote
    next to one the source wrote), rewiring the second one's users to the first's input."""
    graph = pivot["graph"]
    producer = {v: node for node in graph for v in node["outputs"]}
    users: dict[int, int] = {}
    for node in graph:
        for v in node["inputs"]:
            users[v] = users.get(v, 0) + 1
    replace: dict[int, int] = {}
    dropped = set()
    for node in graph:
        node["inputs"] = [replace.get(v, v) for v in node["inputs"]]
        if node["op"] != "permute" or node["kind"] != "op":
            continue
        first = producer.get(node["inputs"][0])
        if not first or first["op"] != "permute" or first["kind"] != "op":
            continue
        p, q = first["attrs"]["dims"], node["attrs"]["dims"]
        if users.get(first["outputs"][0]) == 1 and [p[i] for i in q] == list(range(len(p))):
            replace[node["outputs"][0]] = first["inputs"][0]
            dropped |= {id(first), id(node)}
    pivot["graph"] = [node for node in graph if id(node) not in dropped]
    pivot["outputs"] = [replace.get(v, v) for v in pivot["outputs"]]


def merge_pool_and_flatten(pivot: dict, layers: dict) -> None:
    """A global pooling that keeps its unit axes followed by a Flatten (how a PyTorch file
    spells `GlobalAveragePooling2D()`: `nn.AdaptiveAvgPool2d(1), nn.Flatten()`) is the
    pooling without the unit axes."""
    graph = pivot["graph"]
    producer = {v: node for node in graph for v in node["outputs"]}
    users: dict[int, int] = {}
    for node in graph:
        for v in node["inputs"]:
            users[v] = users.get(v, 0) + 1
    dropped = set()
    for node in graph:
        pool = producer.get(node["inputs"][0]) if node["inputs"] else None
        if node["op"] != "flatten" or not pool or not pool["op"].startswith("global_"):
            continue
        attrs = layers[pool["module"]]["attrs"] if pool["kind"] == "call" else pool["attrs"]
        if attrs.get("keepdims") and users.get(pool["outputs"][0]) == 1:
            attrs["keepdims"] = False
            pool["outputs"] = node["outputs"]
            dropped.add(id(node))
    pivot["graph"] = [node for node in graph if id(node) not in dropped]


def canonical(pivot: dict) -> list[tuple]:
    """The graph as (op, attributes, input numbers, output shapes), in execution order."""
    cancel_inverse_permutes(pivot)
    layers: dict[str, dict] = {}

    def collect(layer):
        if layer:
            layers[layer.get("path", "")] = layer
            for child in layer.get("children", []):
                collect(child["layer"])

    collect(pivot["modules"])
    merge_pool_and_flatten(pivot, layers)
    used = {v for node in pivot["graph"] for v in node["inputs"]} | set(pivot["outputs"])
    number: dict[int, int] = {}  # value id -> canonical number, in order of definition
    count = 0

    def define() -> int:
        nonlocal count
        count += 1
        return count - 1

    for i in pivot["inputs"]:
        number[i["value"]] = define()
    out = []
    for node in pivot["graph"]:
        is_call = node["kind"] == "call"
        attrs = dict(layers[node["module"]]["attrs"] if is_call else node.get("attrs", {}))
        activation = attrs.pop("actv_func", None)
        attrs = {k: v for k, v in attrs.items() if k not in NAME_ATTRS}
        outputs = list(node["outputs"])
        # PyTorch's (output, states) with the states unused is Keras's return_sequences
        pytorch_outputs = node["op"] in RECURRENT and "return_sequences" not in attrs
        if pytorch_outputs and not any(v in used for v in outputs[1:]):
            attrs |= {"return_sequences": True, "return_state": False}
            outputs = outputs[:1]
        inputs = [number[v] for v in node["inputs"]]
        shapes = [pivot["values"][v]["shape"] for v in outputs]
        out.append((node["op"], attrs, inputs, shapes))
        for v in outputs:
            number[v] = define()
        if activation:  # the activation as its own node after the layer; users read its output
            attrs = ACTIVATION_DEFAULTS.get(activation, {})
            out.append((activation, attrs, [number[outputs[0]]], shapes[:1]))
            number[outputs[0]] = define()
    return out


def to_target_layout(shape: str, source: str) -> str:
    """An image --input-shape in the other framework's native layout."""
    dims = shape.split(",")
    if len(dims) != 3 or ":" in shape:
        return shape
    return ",".join(dims[1:] + dims[:1]) if source == "torch" else ",".join(dims[2:] + dims[:2])


EXAMPLES = [
    ("torch/alexnet.py", "AlexNet(num_classes=10)", "3,64,64"),
    ("torch/alexnet_seq.py", "model", "3,64,64"),
    ("torch/vgg16.py", "VGG(make_layers(cfgs['D']), num_classes=10)", "3,64,64"),
    ("torch/vgg16_seq.py", "model", "3,64,64"),
    ("torch/resnet_small.py", "SmallResNet()", "3,32,32"),
    ("torch/lstm_classifier.py", "LSTMClassifier()", "int64:20"),
    ("keras/cifar_cnn.py", "model", "32,32,3"),
    ("keras/cifar_cnn_subclass.py", "CifarCNN()", "32,32,3"),
    ("keras/lstm_sentiment.py", "SentimentLSTM()", "100"),
    ("keras/cnn_rnn_sentiment.py", "CNNRNNSentiment()", "80"),
    ("keras/two_input_functional.py", "model", "28,28,1;8"),
    ("keras/cifar_cnn_functional.py", "model", "32,32,3"),
    ("keras/lstm_sentiment_functional.py", "model", "100"),
    ("keras/cnn_rnn_sentiment_functional.py", "model", "80"),
]  # fmt: skip


def inspect(run_nnport, path, entry: str, shapes: list[str]) -> dict:
    args = [a for s in shapes for a in ("--input-shape", s)]
    process = run_nnport("inspect", path, "--entry", entry, *args, "--format", "json")
    assert process.returncode == 0, process.stderr
    return json.loads(process.stdout)


@pytest.mark.parametrize("example, entry, shape", EXAMPLES)
def test_round_trip_gives_the_same_pivot(example, entry, shape, examples_dir, run_nnport, tmp_path):
    source = example.split("/")[0]
    other = "keras" if source == "torch" else "torch"
    shapes = [s for s in shape.split(";") if s]
    there, back = tmp_path / f"there_{other}.py", tmp_path / f"back_{source}.py"
    target_shapes = [to_target_layout(s, source) for s in shapes]
    for src, dst, to, given in (
        (examples_dir / example, there, other, shapes),
        (there, back, source, target_shapes),
    ):
        args = [a for s in given for a in ("--input-shape", s)]
        process = run_nnport(
            "convert", src, "--to", to, "--layout", "native", "--entry", entry, *args, "-o", dst
        )
        assert process.returncode == 0, process.stderr
    original = canonical(inspect(run_nnport, examples_dir / example, entry, shapes))
    returned = canonical(inspect(run_nnport, back, entry, shapes))
    assert len(returned) == len(original)
    for a, b in zip(original, returned, strict=True):
        assert a == b
