"""The throwaway servers of bevel.testing.servers: their helpers and error messages."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from bevel.testing.servers import DatabaseServer, S3Server, ServerFailed
from bevel.testing.servers import _process as servers


def test_a_server_that_dies_while_starting_is_reported_with_its_log(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    log.write_text("line 1\nFATAL: could not bind: Address already in use\n")
    with pytest.raises(ServerFailed) as err:
        servers._wait_until(lambda: False, what="PostgreSQL", logs=[log], alive=lambda: False)
    text = str(err.value)
    assert "PostgreSQL exited while starting" in text
    assert "Address already in use" in text and str(log) in text


def test_waiting_is_bounded(tmp_path: Path) -> None:
    with pytest.raises(ServerFailed, match=r"moto_server was not ready within 0 s"):
        servers._wait_until(
            lambda: False, what="moto_server", logs=[tmp_path / "none"], timeout=0.1
        )


def test_a_port_taken_meanwhile_is_retried_on_another(tmp_path: Path) -> None:
    log = tmp_path / "log"
    tried: list[int] = []

    def start(port: int) -> int:
        tried.append(port)
        if len(tried) == 1:
            log.write_text("bind: Address already in use")
            raise ServerFailed("taken")
        return port

    assert servers._on_free_port(start, log) == tried[-1]
    assert len(tried) == 2


@pytest.mark.servers
@pytest.mark.parametrize("fixture", ["postgres", "mariadb"])
def test_new_databases_are_separate_and_can_be_dropped(
    request: pytest.FixtureRequest, fixture: str
) -> None:
    server: DatabaseServer = request.getfixturevalue(fixture)
    first, second = server.new_database(), server.new_database()
    assert first != second and first.startswith(f"{server.kind}+{server.driver}://")
    engine = create_engine(first)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    engine.dispose()
    engine = create_engine(second)
    with engine.connect() as conn:
        assert not conn.dialect.has_table(conn, "t")
    server.drop_database(second)  # PostgreSQL: even with this engine's pooled connection open
    engine.dispose()
    server.drop_database(first)


@pytest.mark.servers
def test_s3_buckets_are_fresh_and_reset_empties_the_server(s3: S3Server) -> None:
    import s3fs  # part of the dev extra, like the server

    fs = s3fs.S3FileSystem(**s3.storage_options, skip_instance_cache=True)
    bucket = s3.new_bucket()
    fs.pipe(f"{bucket}/a.txt", b"a")
    assert fs.cat(f"{bucket}/a.txt") == b"a"
    assert fs.ls(s3.new_bucket()) == []
    s3.reset()
    fs.invalidate_cache()
    assert fs.ls("") == []
