import pytest


@pytest.fixture(scope="session")
def tiny():
    from tests.doubles.tiny_blip2 import tiny_blip2

    return tiny_blip2(seed=0)


@pytest.fixture(scope="session")
def tiny_dir(tiny, tmp_path_factory):
    """The tiny model saved like a downloaded checkpoint, for the real loading path."""
    model, processor = tiny
    path = tmp_path_factory.mktemp("tiny-blip2")
    model.save_pretrained(path)
    processor.save_pretrained(path)
    return path
