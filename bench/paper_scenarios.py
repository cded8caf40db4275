"""The paper's evaluation set (section 6): five networks and every migration scenario
their architectures allow (Table 1), shared by the benchmarks and their reduced tests.

A scenario migrates one file into one target style. "Forward" scenarios start from
the network's own source files under `examples/`; "back" scenarios migrate a forward
scenario's output back into the source framework (the paper's "then we migrate back").
Every scenario uses `--layout native`: the target code is what an engineer of the
target framework would write (channel-last in Keras, channel-first in PyTorch), so
migrating back gives the original framework's own layout again.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

STYLE_ABBREVIATION = {"sequential": "Seq", "subclass": "Subc", "functional": "Func"}
LAYOUT = "native"


@dataclass(frozen=True)
class Network:
    name: str
    framework: str  # the framework of the network's own source files
    sources: dict[str, tuple[str, str]]  # source style -> (file under examples/, entry)
    target_styles: tuple[str, ...]  # the styles its architecture allows in either framework
    # the model's input without the batch axis, in each framework's own layout, as
    # `--input-shape` takes it: full size (benchmark) and reduced (pytest)
    shapes: dict[str, str] = field(default_factory=dict)
    reduced_shapes: dict[str, str] = field(default_factory=dict)


NETWORKS = [
    Network(
        "AlexNet",
        "torch",
        {
            "sequential": ("torch/alexnet_seq.py", "model"),
            "subclass": ("torch/alexnet.py", "AlexNet(num_classes=10)"),
        },
        ("sequential", "subclass"),
        {"torch": "3,224,224", "keras": "224,224,3"},
        {"torch": "3,64,64", "keras": "64,64,3"},
    ),
    Network(
        "VGG16",
        "torch",
        {
            "sequential": ("torch/vgg16_seq.py", "model"),
            "subclass": ("torch/vgg16.py", "VGG(make_layers(cfgs['D']), num_classes=10)"),
        },
        ("sequential", "subclass"),
        {"torch": "3,224,224", "keras": "224,224,3"},
        {"torch": "3,32,32", "keras": "32,32,3"},
    ),
    Network(
        "TF-Tutorial",
        "keras",
        {
            "sequential": ("keras/cifar_cnn.py", "model"),
            "subclass": ("keras/cifar_cnn_subclass.py", "CifarCNN()"),
            "functional": ("keras/cifar_cnn_functional.py", "model"),
        },
        ("sequential", "subclass"),
        {"torch": "3,32,32", "keras": "32,32,3"},
        {"torch": "3,32,32", "keras": "32,32,3"},  # the files state 32x32
    ),
    Network(
        "LSTM",
        "keras",
        {
            "subclass": ("keras/lstm_sentiment.py", "SentimentLSTM()"),
            "functional": ("keras/lstm_sentiment_functional.py", "model"),
        },
        ("subclass",),
        {"torch": "int64:100", "keras": "100"},
        {"torch": "int64:100", "keras": "100"},  # the functional file states 100 tokens
    ),
    Network(
        "CNN-RNN",
        "keras",
        {
            "subclass": ("keras/cnn_rnn_sentiment.py", "CNNRNNSentiment()"),
            "functional": ("keras/cnn_rnn_sentiment_functional.py", "model"),
        },
        ("subclass",),
        {"torch": "int64:80", "keras": "80"},
        {"torch": "int64:80", "keras": "80"},
    ),
]

NETWORK = {network.name: network for network in NETWORKS}
OTHER = {"torch": "keras", "keras": "torch"}


@dataclass(frozen=True)
class Scenario:
    network: str
    source_framework: str
    source_style: str
    target_style: str
    file: str | None  # under examples/ for a forward scenario
    entry: str
    back_of: str | None = None  # id of the forward scenario whose output this one migrates

    @property
    def target_framework(self) -> str:
        return OTHER[self.source_framework]

    @property
    def direction(self) -> str:
        return f"{self.source_framework}->{self.target_framework}"

    @property
    def label(self) -> str:
        """The paper's Figure 5 label: `SeqToSubc` (source style to target style)."""
        return f"{STYLE_ABBREVIATION[self.source_style]}To{STYLE_ABBREVIATION[self.target_style]}"

    @property
    def id(self) -> str:
        kind = "back" if self.back_of else "fwd"
        return f"{self.network}-{self.direction.replace('->', '-to-')}-{self.label}-{kind}"

    def input_shape(self, reduced: bool = False) -> str:
        network = NETWORK[self.network]
        shapes = network.reduced_shapes if reduced else network.shapes
        return shapes[self.source_framework]


def scenarios() -> Iterator[Scenario]:
    """Every scenario, each forward scenario before the back scenarios that need it.

    Forward: every source style x every target style. Back: the target-framework files
    of the style-preserving forward migrations (Seq -> Seq, Subc -> Subc), migrated back
    into every style; together they are the paper's eight scenarios per network (four
    for the networks that only exist as subclasses: two each way). The Keras functional
    API is one more source style where the network has it; PyTorch has no functional
    model style, so it appears only as a forward source.
    """
    for network in NETWORKS:
        forward: dict[str, Scenario] = {}
        for source_style, (file, entry) in network.sources.items():
            for target_style in network.target_styles:
                s = Scenario(
                    network.name, network.framework, source_style, target_style, file, entry
                )
                forward[s.id] = s
                yield s
        other = OTHER[network.framework]
        for style in network.target_styles:
            (origin,) = [
                s for s in forward.values() if s.source_style == style and s.target_style == style
            ]
            for target_style in network.target_styles:
                yield Scenario(
                    network.name, other, style, target_style, None, origin.entry, back_of=origin.id
                )
