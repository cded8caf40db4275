"""A recurrent binary classifier, Keras subclassing style, trained with compile/fit.

Tokens are embedded, read by an LSTM whose last step feeds one sigmoid unit. The
training setup is the common one for a binary task: RMSprop with Keras's defaults,
binary cross-entropy on the sigmoid's probabilities, accuracy as the metric.
"""

import numpy as np
import tensorflow as tf


class SequenceClassifier(tf.keras.Model):
    def __init__(self, vocab_size=20, embed_dim=16, hidden=24):
        super().__init__()
        self.embedding = tf.keras.layers.Embedding(vocab_size, embed_dim)
        self.lstm = tf.keras.layers.LSTM(hidden)
        self.out = tf.keras.layers.Dense(1, activation="sigmoid")

    def call(self, tokens):
        return self.out(self.lstm(self.embedding(tokens)))


model = SequenceClassifier()
model.build((None, 64))


def fit_model(model, tokens, labels, epochs=5, shuffle=True):
    model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(tokens, labels, batch_size=16, epochs=epochs, shuffle=shuffle, verbose=2)
    return history.history["loss"]


if __name__ == "__main__":
    from sklearn.datasets import load_digits

    # each 8x8 digit read row by row as 64 tokens (its pixel intensities, 0 to 16);
    # the task: is the digit 5 or more?
    digits = load_digits()
    tokens = digits.data.astype("int64")
    labels = (digits.target >= 5).astype("float32")
    fit_model(model, tokens[:1500], labels[:1500])
    print("test [loss, accuracy]:", model.evaluate(tokens[1500:], labels[1500:], verbose=0))
    print("first predictions:", np.round(model.predict(tokens[1500:1505], verbose=0).ravel(), 2))
