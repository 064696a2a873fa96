import inspect

import pytest

import datamodules
import zoo
from zoo.models.base import GANModule
from zoo.registry import MODELS, Registry, UnknownNameError


def test_list_models_has_cgan_and_wildcards():
    assert "cgan" in zoo.list_models()
    assert zoo.list_models("c*") == [n for n in zoo.list_models() if n.startswith("c")]
    assert zoo.list_models("nothing*") == []


@pytest.mark.parametrize("name", zoo.list_models())
def test_every_model_builds_from_its_name_and_its_default_data(name):
    """The default data set exists, and linking its attributes into the model builds the model."""
    from zoo.fit import DATA_LINKS

    data_name = MODELS.entry(name).default_data
    datamodule = datamodules.create_datamodule(data_name)
    parameters = inspect.signature(zoo.get_model_class(name).__init__).parameters
    links = {arg: getattr(datamodule, attr) for attr, arg in DATA_LINKS.items()
             if arg in parameters and hasattr(datamodule, attr)}
    assert links, f"{name} takes nothing from {data_name}"
    assert isinstance(zoo.create_model(name, **links), GANModule)


def test_unknown_name_lists_valid_choices():
    with pytest.raises(UnknownNameError, match=r"unknown model 'nope'; valid choices: .*cgan"):
        zoo.create_model("nope")


def test_duplicate_and_bad_names_are_errors():
    registry = Registry("thing")

    @registry.register("a")
    class A:
        pass

    with pytest.raises(ValueError, match="already registered"):
        registry.register("a")(A)
    with pytest.raises(ValueError, match="lowercase"):
        registry.register("BadName")
    assert registry.find_class(type("B", (A,), {})).name == "a"
