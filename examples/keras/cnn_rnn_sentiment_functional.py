"""The CNN-RNN sentiment network (after Wang et al. 2016), written with the
functional API: two convolution branches over the same embedded sentence,
concatenated and summarised by a GRU, with a sigmoid polarity unit."""

from tensorflow import keras
from tensorflow.keras import layers

MAXLEN = 80

tokens = keras.Input(shape=(MAXLEN,), dtype="int32")
embedded = layers.Embedding(5000, 64)(tokens)
a = layers.Conv1D(32, 3, padding="same", activation="relu")(embedded)
a = layers.MaxPooling1D(2)(a)
b = layers.Conv1D(32, 5, padding="same", activation="relu")(embedded)
b = layers.MaxPooling1D(2)(b)
x = layers.concatenate([a, b])
x = layers.GRU(32)(x)
x = layers.Dense(16, activation="relu")(x)
polarity = layers.Dense(1, activation="sigmoid")(x)

model = keras.Model(tokens, polarity, name="cnn_rnn_sentiment")
