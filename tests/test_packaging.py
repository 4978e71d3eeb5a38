"""A plain (non-editable) install of the built wheel finds properties/ and runs its console command."""

import os
import subprocess
import sys
import zipfile

import yaml


def test_wheel_install_finds_the_properties(tmp_path):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path / "wheel"), root], check=True, capture_output=True)
    (wheel,) = (tmp_path / "wheel").iterdir()
    names = zipfile.ZipFile(wheel).namelist()
    assert "recbole_disen/properties/model/DisenSeqRec.yaml" in names
    assert "recbole_disen/properties/dataset/amazon-books.yaml" in names
    assert {"recbole_disen/bench/command.py", "recbole_disen/bench/worker.py", "recbole_disen/bench/__main__.py"} <= set(names)
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target",
                    str(tmp_path / "site"), str(wheel)], check=True, capture_output=True)
    code = ("from recbole_disen.config import properties_dir, DisenConfig; import os; d = properties_dir(); "
            "print(d); assert os.path.isfile(os.path.join(d, 'model', 'DisenSeqRec.yaml')); "
            "c = DisenConfig('DisenSeqRec', 'ml-100k', config_dict={'gpu_id': ''}); print(c['n_intents'])")
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site")}
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, check=True,
                         capture_output=True, text=True).stdout.split()
    with open(os.path.join(root, "properties", "model", "DisenSeqRec.yaml")) as f:
        shipped = yaml.safe_load(f)["n_intents"]
    assert out[0].startswith(str(tmp_path / "site")) and out[1] == str(shipped)
