"""run.config with wandb's rules (ConfigError, allow_val_change, int keys) and run.summary's
nested values changed in place (issue 13 item 2, issue 14 "Summary during the run")."""

from __future__ import annotations

import pytest

import localrun
from localrun.sync import RunView


def test_changing_a_config_value_raises_config_error_naming_the_call(runs):
    run = localrun.init(dir=runs, config={"lr": 0.1})
    for change, call in [
        (lambda: run.config.update({"lr": 0.2}), "config.update()"),
        (lambda: run.config.__setitem__("lr", 0.2), "config['lr'] = ..."),
        (lambda: setattr(run.config, "lr", 0.2), "config.lr = ..."),
    ]:
        with pytest.raises(localrun.ConfigError) as err:
            change()
        text = str(err.value)
        assert text.startswith(call) and "0.1" in text and "0.2" in text
        assert "allow_val_change=True" in text and "log()" not in text.split(";")[0]
    assert isinstance(err.value, localrun.Error) and not isinstance(err.value, ValueError)
    assert run.config.lr == 0.1
    run.config.update({"lr": 0.1, "other": 1})  # the same value again is no change
    run.config.update({"lr": 0.3}, allow_val_change=True)
    assert run.config.lr == 0.3
    run.finish()
    assert RunView(run.dir).to_json()["config"] == {"lr": 0.3, "other": 1}


def test_init_config_and_init_allow_val_change_may_change_values(runs):
    run = localrun.init(dir=runs, id="r", config={"lr": 0.1})
    run.finish()
    run = localrun.init(dir=runs, id="r", resume="allow", config={"lr": 0.2})  # init() may
    assert run.config.lr == 0.2
    run.finish()
    run = localrun.init(dir=runs, allow_val_change=True, config={"lr": 0.1})
    run.config.lr = 0.5
    assert run.config.lr == 0.5
    run.finish()


def test_config_takes_int_keys_as_wandb_stores_them_and_compares_what_it_stores(runs):
    # transformers: config.update(model.config.to_dict()) with id2label = {0: "NEG", 1: "POS"}
    model_config = {"id2label": {0: "NEG", 1: "POS"}, "label2id": {"NEG": 0, "POS": 1}}
    run = localrun.init(dir=runs, config=model_config)
    run.config.update(model_config)  # again: unchanged, so no ConfigError
    run.config.update({7: "seven", "--batch-size": 8})
    assert run.config["id2label"] == {"0": "NEG", "1": "POS"}
    assert run.config["7"] == "seven" and run.config["batch-size"] == 8  # wandb strips '-'
    run.finish()
    assert RunView(run.dir).to_json()["config"]["id2label"] == {"0": "NEG", "1": "POS"}


def test_config_error_is_exported_for_a_wandb_shim():
    from localrun.errors import ConfigError

    assert localrun.ConfigError is ConfigError and "ConfigError" in localrun.__all__


def test_changing_a_nested_summary_value_in_place_is_recorded(runs):
    run = localrun.init(dir=runs)
    run.log({"eval": {"acc": 0.5, "loss": 2.0}})
    run.summary["eval"]["acc"] = 0.9
    run.summary["eval"].update({"f1": 0.7})
    run.summary.eval.best = {"epoch": 3}
    run.summary["eval"]["best"]["epoch"] = 4
    del run.summary["eval"]["loss"]
    expected = {"acc": 0.9, "f1": 0.7, "best": {"epoch": 4}}
    assert run.summary["eval"] == expected
    assert isinstance(run.summary["eval"], dict)
    run.finish()
    assert RunView(run.dir).to_json()["summary"]["eval"] == expected


def test_a_nested_summary_value_updates_as_a_dict_does(runs):
    # SummaryBranch.update takes its mapping positionally, as dict.update: d= is a key.
    run = localrun.init(dir=runs)
    run.log({"eval": {"acc": 0.5}})
    run.summary["eval"].update([("f1", 0.7)], d=1)
    run.summary["eval"].update(epoch=3)
    expected = {"acc": 0.5, "f1": 0.7, "d": 1, "epoch": 3}
    assert run.summary["eval"] == expected
    run.finish()
    assert RunView(run.dir).to_json()["summary"]["eval"] == expected


def test_a_summary_key_that_is_not_text_is_refused_naming_the_summary(runs):
    run = localrun.init(dir=runs)
    with pytest.raises(localrun.Error) as err:
        run.summary.update({0: 1})
    assert str(err.value).startswith("summary keys must be strings")
    run.finish()
