"""Every error family reaches the one mapping in the CLI (`cli.exit_code`, table `cli.EXIT_CODES`)
and leaves with its documented exit status and one line `inspire: error: ...` (issue 15)."""

import pytest

from inspire_ros import errors
from inspire_ros.cli import EXIT_CODES
from inspire_ros.cli import main as main_mod
from inspire_ros.cli.main import main

from support import BUS, require_shared


def _bad_config(tmp):
    require_shared()  # BUS is read before the config
    cfg = tmp / "bad.yaml"
    cfg.write_text("detector:\n  score_threshold: 1.5\n")
    return ["anonymize", str(BUS), str(tmp / "o.png"), "--config", str(cfg)], "'detector.score_threshold'"


def _missing_model(tmp):
    require_shared()
    cfg = tmp / "nomodel.yaml"
    cfg.write_text(f"detector:\n  model: {tmp / 'gone.onnx'}\n")
    return ["anonymize", str(BUS), str(tmp / "o.png"), "--config", str(cfg)], "gone.onnx"


def _unreadable_input(tmp):
    src = tmp / "frame.xyz"
    src.write_bytes(b"\x00" * 64)
    return ["anonymize", str(src), str(tmp / "o.png")], "frame.xyz"


def _corrupt_bag(tmp):
    require_shared()  # the default detector is built before the bag is opened
    bag = tmp / "junk.mcap"
    bag.write_bytes(b"\x00" * 1000)
    return ["bag", "sanitize", str(bag), str(tmp / "out.mcap"), "--quiet"], "junk.mcap"


def _missing_eval_data(tmp):
    shared = tmp / "no-shared"
    return ["eval", "--out", str(tmp / "ev"), "--shared", str(shared), "--quiet"], "--shared"


@pytest.mark.parametrize(
    "cls, case",
    [
        (errors.ConfigError, _bad_config),
        (errors.ModelError, _missing_model),
        (errors.MediaError, _unreadable_input),
        (errors.BagError, _corrupt_bag),
        (errors.EvalError, _missing_eval_data),
    ],
)
def test_each_error_family_maps_to_its_exit_status(cls, case, tmp_path, capsys, monkeypatch):
    seen, real = [], main_mod.exit_code

    def recording(error):
        seen.append(type(error))
        return real(error)

    monkeypatch.setattr(main_mod, "exit_code", recording)
    args, named = case(tmp_path)
    assert main(args) == EXIT_CODES[cls] == 2
    assert len(seen) == 1 and issubclass(seen[0], cls), seen
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("inspire: error: ") and named in lines[0], lines
