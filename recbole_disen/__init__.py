"""recbole_disen: DisenSeqRec (Ma et al., KDD 2020) as a RecBole 1.2.1 plugin."""

__version__ = "0.1.0"
