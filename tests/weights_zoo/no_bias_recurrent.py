"""Recurrent layers without biases; the last step feeds the head."""

from torch import nn


class NoBiasNet(nn.Module):
    def __init__(self, features=4, hidden=3):
        super().__init__()
        self.lstm = nn.LSTM(features, hidden, bias=False, batch_first=True, bidirectional=True)
        self.gru = nn.GRU(2 * hidden, hidden, num_layers=2, bias=False, batch_first=True)
        self.rnn = nn.RNN(hidden, hidden, nonlinearity="relu", bias=False, batch_first=True)
        self.out = nn.Linear(hidden, 2)

    def forward(self, x):
        x, _ = self.lstm(x)
        x, _ = self.gru(x)
        x, _ = self.rnn(x)
        return self.out(x[:, -1, :])
