"""Config validation (what is wrong, in which component and field, how to fix) and masking."""

from __future__ import annotations

from typing import Any

import pytest

from bevel.errors import ConfigError
from bevel.stack.config import MASK, mask_config, mask_value, masked_fields, validate_config
from bevel.stack.configs import (
    LocalStoreConfig,
    MysqlConfig,
    PostgresConfig,
    S3StoreConfig,
    SqliteConfig,
)

WHERE = "artifact_store 's3-store' (flavor s3)"


def _error(cls: type, values: dict[str, Any], **kw: Any) -> ConfigError:
    with pytest.raises(ConfigError) as err:
        validate_config(cls, values, where=WHERE, **kw)
    return err.value


def test_valid_config_keeps_defaults() -> None:
    config = validate_config(S3StoreConfig, {"path": "s3://b/p"}, where=WHERE)
    assert (config.path, config.connect_timeout, config.max_attempts) == ("s3://b/p", 5.0, 3)
    assert config.client_kwargs == {}


def test_missing_field_is_named_with_the_option_to_set() -> None:
    err = _error(S3StoreConfig, {"endpoint_url": "http://x:9000"})
    assert err.message == (
        f"{WHERE}: missing required field 'path' (s3://bucket/prefix where artifacts are kept)"
    )
    assert err.hint == "give it: --path VALUE"


def test_unknown_field_suggests_the_closest() -> None:
    err = _error(S3StoreConfig, {"path": "s3://b", "endpoint": "http://x"})
    assert err.message == f"{WHERE}: unknown field 'endpoint'"
    assert err.hint and err.hint.startswith("did you mean --endpoint-url? its fields are: --path,")


def test_wrong_type_names_field_expected_and_given() -> None:
    err = _error(S3StoreConfig, {"path": "s3://b", "connect_timeout": "soon"})
    assert err.message == (f"{WHERE}: field 'connect_timeout' must be a number, got 'soon' (str)")
    assert err.hint == "give it as: --connect-timeout VALUE"


def test_booleans_are_not_numbers() -> None:
    err = _error(S3StoreConfig, {"path": "s3://b", "max_attempts": True})
    assert "field 'max_attempts' must be an integer" in err.message


def test_wrong_type_of_a_sensitive_field_does_not_echo_it() -> None:
    err = _error(S3StoreConfig, {"path": "s3://b", "secret": 12345678})
    assert "12345678" not in str(err)
    assert "got '***' (int)" in err.message


def test_command_line_text_is_read_as_the_field_type() -> None:
    config = validate_config(
        S3StoreConfig,
        {
            "path": "s3://b",
            "connect_timeout": "2.5",
            "max_attempts": "4",
            "key": "123",  # a text field stays text
            "client_kwargs": '{"verify": false}',
            "region": "none",  # text stays text, even "none"
        },
        where=WHERE,
        from_strings=True,
    )
    assert config.connect_timeout == 2.5 and config.max_attempts == 4
    assert config.key == "123"
    assert config.client_kwargs == {"verify": False}
    assert config.region == "none"


def test_bad_json_for_a_mapping_field() -> None:
    err = _error(S3StoreConfig, {"path": "s3://b", "client_kwargs": "{oops"}, from_strings=True)
    assert "field 'client_kwargs' must be a mapping" in err.message
    assert err.hint and "(JSON)" in err.hint


def test_secret_reference_only_in_text_fields() -> None:
    assert validate_config(S3StoreConfig, {"path": "s3://b", "key": "{{s3.key}}"}, where=WHERE)
    err = _error(S3StoreConfig, {"path": "s3://b", "connect_timeout": "{{s3.timeout}}"})
    assert "cannot hold the secret reference '{{s3.timeout}}'" in err.message


@pytest.mark.parametrize(
    ("cls", "values", "expected"),
    [
        (S3StoreConfig, {"path": "/local/folder"}, "field 'path' must start with s3:// or s3a://"),
        (S3StoreConfig, {"path": "s3://b", "endpoint_url": "127.0.0.1:9000"}, "'endpoint_url'"),
        (S3StoreConfig, {"path": "s3://b", "max_attempts": 0}, "'max_attempts' must be at least 1"),
        (PostgresConfig, {"url": "mysql://x/y"}, "field 'url' must start with postgresql"),
        (MysqlConfig, {"url": "sqlite:///x"}, "field 'url' must start with mysql or mariadb"),
        (SqliteConfig, {}, "give exactly one of the fields 'path' and 'url'"),
        (SqliteConfig, {"path": "a.db", "url": "sqlite:///b.db"}, "exactly one"),
    ],
)
def test_flavor_checks(cls: type, values: dict[str, Any], expected: str) -> None:
    err = _error(cls, values)
    assert err.message.startswith(WHERE + ": ")
    assert expected in err.message


def test_checks_wait_for_references() -> None:
    """A URL whose host comes from a secret cannot be checked until it is resolved."""
    assert validate_config(PostgresConfig, {"url": "{{db.url}}"}, where=WHERE)


def test_postgres_driver_follows_the_url() -> None:
    def requires(url: str) -> tuple[str, ...]:
        return validate_config(PostgresConfig, {"url": url}, where=WHERE).requires()  # type: ignore[no-any-return]

    assert requires("postgresql+psycopg://u@h/db") == ("psycopg",)
    assert requires("postgresql://u@h/db") == ("psycopg",)  # what bevel[postgresql] installs
    assert requires("postgresql+psycopg2://u@h/db") == ("psycopg2",)
    assert validate_config(
        MysqlConfig, {"url": "mysql+pymysql://h/db"}, where=WHERE
    ).requires() == ("pymysql",)


def test_masking() -> None:
    values = {
        "path": "s3://b",
        "key": "AKIAREAL",
        "secret": "{{s3.secret}}",
        "token": "",
        "client_kwargs": {"aws_secret_access_key": "hidden", "verify": False},
    }
    assert mask_config(S3StoreConfig, values) == {
        "path": "s3://b",
        "key": MASK,
        "secret": "{{s3.secret}}",
        "token": "",
        "client_kwargs": {"aws_secret_access_key": MASK, "verify": False},
    }


def test_url_passwords_are_masked_but_references_kept() -> None:
    assert mask_value("postgresql+psycopg://bevel:pw@db:5432/x", "url") == (
        "postgresql+psycopg://bevel:***@db:5432/x"
    )
    assert mask_value("postgresql://bevel:{{db.pw}}@db/x", "url") == (
        "postgresql://bevel:{{db.pw}}@db/x"
    )
    assert mask_value("postgresql://bevel@db/x", "url") == "postgresql://bevel@db/x"


@pytest.mark.parametrize("password", ["ab/cd+ef", "p?w#1", "x:y/z"])
def test_url_passwords_with_url_characters_are_masked_whole(password: str) -> None:
    # Generated passwords hold '/', '?', '#' or ':'; SQLAlchemy reads them up to the '@'.
    url = f"postgresql+psycopg://bevel:{password}@db:5432/x"
    shown = mask_value(url, "url")
    assert shown == "postgresql+psycopg://bevel:***@db:5432/x"
    assert password not in mask_config(PostgresConfig, {"url": url})["url"]


def test_unknown_config_class_masks_by_field_name() -> None:
    values = {"api_token": "t0k", "password": "p", "channel": "#ml", "dsn": "pg://u:pw@h/d"}
    assert mask_config(None, values) == {
        "api_token": MASK,
        "password": MASK,
        "channel": "#ml",
        "dsn": "pg://u:***@h/d",
    }


def test_masked_fields_are_found() -> None:
    assert masked_fields({"key": MASK, "url": "pg://u:***@h/d", "path": "x"}) == ["key", "url"]
    assert masked_fields({"opts": {"secret": MASK}}) == ["opts.secret"]


def test_local_path_field_is_marked() -> None:
    from bevel.stack.config import config_fields

    (path,) = config_fields(LocalStoreConfig)
    assert path.path and path.required and path.option == "--path"
