"""The building blocks of DisenSeqRec, each testable on its own."""

from recbole_disen.modules.encoder import SequenceEncoder
from recbole_disen.modules.intention import IntentionLayer

__all__ = ["SequenceEncoder", "IntentionLayer"]
