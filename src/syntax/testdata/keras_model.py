"""Keras versions of the test models."""

import keras
from keras import layers, ops


def build_mlp(
    input_dim,
    hidden_units=(256, 128),
    num_classes=10,
    dropout_rate=0.3,
    activation="relu",
):
    inputs = keras.Input(shape=(input_dim,), name="features")
    x = inputs
    for i, units in enumerate(hidden_units):
        x = layers.Dense(
            units,
            activation=activation,
            kernel_initializer="he_normal",
            name=f"dense_{i}",
        )(x)
        x = layers.Dropout(dropout_rate)(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs=inputs, outputs=outputs, name="mlp")


model = keras.Sequential(
    [
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(10, activation="softmax"),  # classifier
    ]
)
model.compile(
    loss="categorical_crossentropy",
    optimizer=keras.optimizers.Adam(learning_rate=1e-3),
    metrics=["accuracy"],
)


class Attention(layers.Layer):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(
            shape=(input_shape[-1], self.units),
            initializer="glorot_uniform",
            trainable=True,
        )
        self.b = self.add_weight(
            shape=(self.units,), initializer="zeros", trainable=True
        )

    def call(self, inputs, training=None):
        scores = ops.tanh(ops.matmul(inputs, self.w) + self.b)
        weights = ops.softmax(scores, axis=1)
        context = (
            ops.sum(weights * inputs, axis=1)
            if not training
            else ops.mean(weights * inputs, axis=1)
        )
        return context

    def get_config(self):
        config = super().get_config()
        config.update({"units": self.units})
        return config


schedule = keras.optimizers.schedules.ExponentialDecay(
    initial_learning_rate=0.01, decay_steps=10000, decay_rate=0.9
)
callbacks = [
    keras.callbacks.EarlyStopping(
        monitor="val_loss", patience=3, restore_best_weights=True
    ),
    keras.callbacks.ModelCheckpoint("best.keras"),
]
data = (
    keras.utils.normalize(keras.ops.convert_to_numpy(ops.ones((4, 8))), axis=-1)
    .reshape(-1, 2, 4)
    .astype("float32")
)
