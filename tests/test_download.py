"""RecBole's dataset download: unpacked beside the user's files, which it never replaces (no network)."""

import io
import zipfile

from recbole_disen import datacheck


def zipped(files):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def test_a_download_keeps_the_files_already_in_the_folder(tmp_path, monkeypatch):
    payload = zipped({"ml-100k.inter": "user_id:token\titem_id:token\ttimestamp:float\n1\t2\t3\n",
                      "ml-100k.item": "item_id:token\tmovie_title:token_seq\n2\tRecBole's title\n"})
    monkeypatch.setattr("urllib.request.urlopen", lambda url, timeout: io.BytesIO(payload))
    folder = tmp_path / "ml-100k"
    folder.mkdir()
    (folder / "ml-100k.item").write_text("item_id:token\tmovie_title:token_seq\n2\tmy own title\n")
    assert datacheck._download("https://example.org/ml-100k.zip", str(folder), "ml-100k") is None
    assert (folder / "ml-100k.inter").read_text().endswith("1\t2\t3\n")
    assert (folder / "ml-100k.item").read_text().endswith("my own title\n")
    assert sorted(path.name for path in folder.iterdir()) == ["ml-100k.inter", "ml-100k.item"]
