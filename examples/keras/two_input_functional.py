"""A functional-API model with two inputs: a small image and a vector of
tabular features, merged before a shared classifier head."""

import keras
from keras import layers

image = keras.Input(shape=(28, 28, 1), name="image")
features = keras.Input(shape=(8,), name="features")

x = layers.Conv2D(16, 3, strides=2, padding="same", activation="relu")(image)
x = layers.Conv2D(32, 3, strides=2, padding="same", activation="relu")(x)
x = layers.GlobalAveragePooling2D()(x)

y = layers.Dense(16, activation="relu")(features)

merged = layers.concatenate([x, y])
merged = layers.Dense(32, activation="relu")(merged)
outputs = layers.Dense(3, activation="softmax")(merged)

model = keras.Model(inputs=[image, features], outputs=outputs, name="two_input_classifier")
