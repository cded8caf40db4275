"""The LSTM sentiment classifier (after Yang et al. 2020), written with the
functional API: embedding, a bidirectional LSTM over the whole sequence,
dropout, a second LSTM that keeps the last step, and a softmax classifier."""

import tensorflow as tf

MAXLEN = 100

tokens = tf.keras.Input(shape=(MAXLEN,), dtype="int32", name="tokens")
x = tf.keras.layers.Embedding(5000, 64)(tokens)
x = tf.keras.layers.Bidirectional(tf.keras.layers.LSTM(32, return_sequences=True))(x)
x = tf.keras.layers.Dropout(0.3)(x)
x = tf.keras.layers.LSTM(32)(x)
x = tf.keras.layers.Dense(64, activation="relu")(x)
probabilities = tf.keras.layers.Dense(2, activation="softmax")(x)

model = tf.keras.Model(tokens, probabilities, name="sentiment_lstm")
