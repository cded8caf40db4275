"""LSTM sentiment classifier (after Yang et al. 2020): embedding, a bidirectional
LSTM over the whole sequence, dropout, a second LSTM that keeps the last step,
and a two-layer classifier with a softmax output."""

import tensorflow as tf


class SentimentLSTM(tf.keras.Model):
    def __init__(self, vocab_size=5000, embed_dim=64, hidden=32, num_classes=2):
        super().__init__()
        self.embedding = tf.keras.layers.Embedding(vocab_size, embed_dim)
        self.bilstm = tf.keras.layers.Bidirectional(
            tf.keras.layers.LSTM(hidden, return_sequences=True)
        )
        self.dropout = tf.keras.layers.Dropout(0.3)
        self.lstm = tf.keras.layers.LSTM(hidden)
        self.dense = tf.keras.layers.Dense(64, activation="relu")
        self.classifier = tf.keras.layers.Dense(num_classes, activation="softmax")

    def call(self, inputs, training=False):
        x = self.embedding(inputs)
        x = self.bilstm(x)
        x = self.dropout(x, training=training)
        x = self.lstm(x)
        x = self.dense(x)
        return self.classifier(x)

