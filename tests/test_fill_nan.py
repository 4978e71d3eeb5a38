"""Missing values are filled under pandas 3 for every kind of model (RecBole's in-place fillna is not)."""

import numpy as np
import pytest
from recbole.data.dataset import Dataset

from recbole_disen.config import DisenConfig
from recbole_disen.runner import build_dataset

INTER = ("user_id:token\titem_id:token\trating:float\ttimestamp:float\n"
         + "".join(f"u{u}\ti{(u + t) % 6 + 1}\t{'' if (u, t) == (1, 2) else 2.0 * t}\t{t}\n"
                   for u in range(1, 5) for t in range(1, 6)))


@pytest.mark.parametrize("model, horizon", [("DisenSeqRec", 0), ("SASRec", 0), ("Pop", 0), ("DisenSeqRec", 1)])
def test_a_missing_float_becomes_its_column_mean(model, horizon, tmp_path):
    (tmp_path / "fill").mkdir()
    (tmp_path / "fill" / "fill.inter").write_text(INTER)
    config = DisenConfig(model=model, dataset="fill", config_dict={
        "data_path": str(tmp_path), "gpu_id": "", **({"horizon": horizon, "valid_metric": "horizon_ndcg@10"} if horizon else {}), "load_col": {"inter": ["user_id", "item_id", "rating", "timestamp"]}})
    recbole_fill = Dataset._fill_nan
    ratings = build_dataset(config).inter_feat["rating"].to_numpy()
    assert Dataset._fill_nan is recbole_fill  # RecBole's method is put back
    # 19 ratings 2t (t = 1..5 for four users, u1's t = 2 missing): mean (4 * 30 - 4) / 19
    assert not np.isnan(ratings).any()
    assert sorted(ratings)[:4] == pytest.approx([2.0] * 4)
    assert np.isclose(ratings, (4 * 30 - 4) / 19).sum() == 1
