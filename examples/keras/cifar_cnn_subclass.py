"""The TensorFlow tutorial CNN for CIFAR-10, written as a `keras.Model` subclass."""

import keras
from keras import layers


class CifarCNN(keras.Model):
    def __init__(self, num_classes=10):
        super().__init__()
        self.conv1 = layers.Conv2D(32, (3, 3), activation="relu")
        self.pool1 = layers.MaxPooling2D((2, 2))
        self.conv2 = layers.Conv2D(64, (3, 3), activation="relu")
        self.pool2 = layers.MaxPooling2D((2, 2))
        self.conv3 = layers.Conv2D(64, (3, 3), activation="relu")
        self.flatten = layers.Flatten()
        self.fc1 = layers.Dense(64, activation="relu")
        self.fc2 = layers.Dense(num_classes)

    def call(self, inputs):
        x = self.pool1(self.conv1(inputs))
        x = self.pool2(self.conv2(x))
        x = self.conv3(x)
        x = self.flatten(x)
        x = self.fc1(x)
        return self.fc2(x)

