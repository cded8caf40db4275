"""Token embeddings through stacked and bidirectional recurrent layers."""

from torch import nn


class SequenceNet(nn.Module):
    def __init__(self, vocab_size=40, embed_dim=6, hidden=5, num_classes=3):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim)
        self.lstm = nn.LSTM(embed_dim, hidden, num_layers=2, batch_first=True)
        self.gru = nn.GRU(hidden, hidden, batch_first=True, bidirectional=True)
        self.rnn = nn.RNN(2 * hidden, hidden, num_layers=2, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(2 * hidden, num_classes)

    def forward(self, x):
        x = self.embedding(x)
        x, _ = self.lstm(x)
        x, _ = self.gru(x)
        x, _ = self.rnn(x)
        return self.fc(x[:, -1, :])
