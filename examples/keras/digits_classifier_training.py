"""A small classifier for scikit-learn's 8x8 handwritten digits, trained the Keras way.

The network is a Sequential stack ending in a softmax; training is compile/fit/evaluate/
predict with sparse integer labels, as in Keras's "training and evaluation" guide.
"""

import numpy as np
from tensorflow import keras
from tensorflow.keras import layers

model = keras.Sequential(
    [
        keras.Input(shape=(64,)),
        layers.Dense(64, activation="relu"),
        layers.Dropout(0.2),
        layers.Dense(32, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ]
)


def fit_model(model, x_train, y_train, epochs=20, shuffle=True):
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    history = model.fit(x_train, y_train, batch_size=32, epochs=epochs, validation_split=0.1, shuffle=shuffle)
    return history.history["loss"]


def report(model, x_test, y_test):
    loss, accuracy = model.evaluate(x_test, y_test, batch_size=128)
    predictions = model.predict(x_test[:5])
    print("test loss", loss, "accuracy", accuracy)
    print("predicted", np.argmax(predictions, axis=1), "true", y_test[:5])
    return accuracy


if __name__ == "__main__":
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = (digits.data / 16.0).astype("float32")
    y = digits.target
    fit_model(model, x[:1500], y[:1500])
    report(model, x[1500:], y[1500:])
