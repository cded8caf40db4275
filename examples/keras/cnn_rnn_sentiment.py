"""CNN-RNN sentiment network (after Wang et al. 2016): two convolution branches
with different window sizes read the same embedded sentence, their feature maps
are concatenated and summarised by a GRU; a sigmoid unit gives the polarity."""

from tensorflow import keras
from tensorflow.keras import layers


class CNNRNNSentiment(keras.Model):
    def __init__(self, vocab_size=5000, embed_dim=64, filters=32, units=32):
        super().__init__()
        self.embedding = layers.Embedding(vocab_size, embed_dim)
        self.conv3 = layers.Conv1D(filters, 3, padding="same", activation="relu")
        self.conv5 = layers.Conv1D(filters, 5, padding="same", activation="relu")
        self.pool3 = layers.MaxPooling1D(2)
        self.pool5 = layers.MaxPooling1D(2)
        self.concat = layers.Concatenate()
        self.gru = layers.GRU(units)
        self.hidden = layers.Dense(16, activation="relu")
        self.out = layers.Dense(1, activation="sigmoid")

    def call(self, inputs):
        x = self.embedding(inputs)
        a = self.pool3(self.conv3(x))
        b = self.pool5(self.conv5(x))
        x = self.concat([a, b])
        x = self.gru(x)
        x = self.hidden(x)
        return self.out(x)

