"""One error hierarchy (issue 15): a base, one class per area, defined once and re-exported."""

import pytest

from inspire_ros import errors
from inspire_ros.cli import EXIT_CODES, EXIT_USAGE, exit_code

AREAS = {
    "inspire_ros.config": errors.ConfigError,
    "inspire_ros.model_store": errors.ModelError,
    "inspire_ros.io.media": errors.MediaError,
    "inspire_ros.bag.errors": errors.BagError,
    "inspire_ros.eval": errors.EvalError,
}


@pytest.mark.parametrize("module, cls", AREAS.items())
def test_each_area_error_is_defined_once_and_reexported(module, cls):
    import importlib

    assert getattr(importlib.import_module(module), cls.__name__) is cls
    assert issubclass(cls, errors.InspireError)
    assert cls.__module__ == "inspire_ros.errors"


def test_the_builtin_bases_handlers_rely_on_are_kept():
    assert issubclass(errors.ConfigError, ValueError)
    for cls in (errors.ModelError, errors.MediaError, errors.BagError, errors.EvalError):
        assert issubclass(cls, RuntimeError)


def test_a_bag_error_is_not_a_media_error():
    from inspire_ros.bag import BagError
    from inspire_ros.io.media import MediaError

    assert not issubclass(BagError, MediaError) and not issubclass(MediaError, BagError)


def test_every_area_has_its_exit_status_and_a_new_subclass_takes_its_base_s():
    for cls in AREAS.values():
        assert EXIT_CODES[cls] == EXIT_USAGE == exit_code(cls("x"))

    class Newcomer(errors.InspireError):
        pass

    class NarrowerMedia(errors.MediaError):
        pass

    assert exit_code(Newcomer("x")) == EXIT_CODES[errors.InspireError]
    assert exit_code(NarrowerMedia("x")) == EXIT_CODES[errors.MediaError]
