"""Config loading: defaults for the smallest file, one-line errors naming key and fix, secrets."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import pytest

from brygga.config import LoadedConfig, load_config, settle_seconds
from brygga.errors import ConfigError
from brygga.plugins import PluginHost
from brygga.secrets import Secret
from brygga.testing import toml_config
from brygga_economic.simulator import EconomicSimulator
from brygga_starweb.simulator import StarwebSimulator

#: a secret value distinctive enough that finding it anywhere means it leaked
SECRET = "Zx9-distinctive-s3cret-VALUE-4711"
ECO_URL = "https://eco.example"
SHOP_URL = "https://butiken.example/api/v2"


@pytest.fixture(scope="module")
def host() -> PluginHost:
    return PluginHost()


def _erp(**changes: Any) -> dict[str, Any]:
    table = EconomicSimulator(seed_catalog=False).adapter_config(ECO_URL)
    table.update(changes)
    return table


def _shop(name: str = "", **changes: Any) -> dict[str, Any]:
    table = StarwebSimulator(seed_catalog=False).adapter_config(SHOP_URL, name=name)
    if not name:
        del table["name"]
    table.update(changes)
    return table


def _write(folder: Path, text: str, name: str = "brygga.toml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def _config(
    folder: Path,
    *,
    erp: dict[str, Any] | None = None,
    shops: list[dict[str, Any]] | None = None,
    extra: str = "",
    **kwargs: Any,
) -> Path:
    text = toml_config(
        state="state.db", erp=erp or _erp(), shops=shops or [_shop()], name="butiken", **kwargs
    )
    return _write(folder, text + extra)


def _error(path: Path, host: PluginHost) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(path, host)
    message = str(info.value)
    assert "\n" not in message, "config errors are one line"
    assert message.startswith(f"{path}: "), "config errors name the file first"
    return message


# -- the smallest config ---------------------------------------------------------------------


def test_smallest_config_gets_defaults(tmp_path: Path, host: PluginHost) -> None:
    path = _write(
        tmp_path,
        f"""
[[connection]]
name = "butiken"
erp = {{ kind = "economic", app_secret_token = "a", agreement_grant_token = "g" }}
shops = [{{ kind = "starweb", base_url = "{SHOP_URL}", client_id = "i", client_secret = "s" }}]
""",
    )
    loaded = load_config(path, host)
    assert isinstance(loaded, LoadedConfig)
    daemon = loaded.config.daemon
    assert daemon.listen == "127.0.0.1:9464"
    assert loaded.state_path == tmp_path / "brygga.db"
    assert daemon.disabled_plugins == []
    (conn,) = loaded.connections
    assert conn.name == "butiken"
    assert conn.config.mode == "erp"
    assert conn.config.enabled
    assert conn.config.poll.orders == 60
    assert conn.config.poll.stock == 300
    assert conn.config.orders.document == "invoice"
    assert conn.config.orders.customer_match == ["customer_number", "email", "org_number"]
    fees = conn.config.orders.fee_articles
    assert (fees.freight, fees.handling, fees.discount) == ("fraktavg", "expavg", "rabatt")
    assert conn.erp.kind == "economic"
    assert conn.erp.name == "economic", "the ERP is named after its kind"
    assert conn.erp.base_url == "https://restapi.e-conomic.com"
    assert conn.erp_spec.plugin == "economic"
    (shop,) = conn.shops
    assert shop.name == "starweb", "a lone shop is named after its kind"
    assert [spec.kind for spec in conn.shop_specs] == ["starweb"]


def test_durations_accept_human_forms(tmp_path: Path, host: PluginHost) -> None:
    poll = {"orders": "90s", "stock": "1h30m", "prices": 3600}
    path = _config(tmp_path, connection={"poll": poll})
    loaded = load_config(path, host).connections[0].config.poll
    assert (loaded.orders, loaded.stock, loaded.prices) == (90, 5400, 3600)


def test_fingerprint_changes_with_the_config_only(tmp_path: Path, host: PluginHost) -> None:
    first = load_config(_config(tmp_path), host).connections[0].fingerprint
    assert load_config(_config(tmp_path), host).connections[0].fingerprint == first
    changed = _config(tmp_path, connection={"poll": {"orders": "30s"}})
    assert load_config(changed, host).connections[0].fingerprint != first


# -- one-line errors -------------------------------------------------------------------------------


def _top_level_typo(folder: Path) -> Path:
    text = toml_config(state="s.db", erp=_erp(), shops=[_shop()])
    return _write(folder, 'conection = "x"\n' + text)


def _fee_typo(folder: Path) -> Path:
    return _config(folder, sections={"orders": {"fee_articles": {"fraight": "f"}}})


@pytest.mark.parametrize(
    ("build", "key", "suggestion"),
    [
        (_top_level_typo, "conection", "connection"),
        (lambda d: _config(d, daemon={"listn": "127.0.0.1:1"}), "daemon.listn", "listen"),
        (lambda d: _config(d, connection={"modee": "erp"}), "connection[0].modee", "mode"),
        (_fee_typo, "connection[0].orders.fee_articles.fraight", "freight"),
        (
            lambda d: _config(d, sections={"status": {"delivered": {"shop_statuss": "x"}}}),
            "connection[0].status.delivered.shop_statuss",
            "shop_status",
        ),
    ],
    ids=["top-level", "daemon", "connection", "fee-articles", "status-rule"],
)
def test_unknown_key_suggests_the_close_one(
    tmp_path: Path, host: PluginHost, build: Any, key: str, suggestion: str
) -> None:
    message = _error(build(tmp_path), host)
    assert f": {key}: unknown key" in message
    assert f"did you mean `{suggestion}`" in message


def test_a_key_inside_a_table_of_named_entries_names_its_entry(
    tmp_path: Path, host: PluginHost
) -> None:
    """msgspec says `shops[...]` for a table keyed by name; the error names the key and still
    finds the close field (first-hour QA: `stock_bufer` got neither)."""
    shops = {"se": {"stock_buffer": 2}, "no": {"stock_bufer": 2}}
    message = _error(_config(tmp_path, sections={"catalog": {"shops": shops}}), host)
    assert ": connection[0].catalog.shops.no.stock_bufer: unknown key" in message
    assert "did you mean `stock_buffer`" in message and "[...]" not in message


def test_unknown_key_in_an_adapter_table(tmp_path: Path, host: PluginHost) -> None:
    erp = _erp()
    erp["app_secret_tokn"] = erp.pop("app_secret_token")
    message = _error(_config(tmp_path, erp=erp), host)
    assert ": connection[0].erp.app_secret_tokn: " in message
    assert "did you mean `app_secret_token`" in message


def test_unknown_key_in_a_shop_table(tmp_path: Path, host: PluginHost) -> None:
    message = _error(_config(tmp_path, shops=[_shop(pagelimit=5)]), host)
    assert ": connection[0].shops[0].pagelimit: " in message
    assert "did you mean `page_limit`" in message


def test_unknown_key_without_a_close_match_lists_the_allowed(
    tmp_path: Path, host: PluginHost
) -> None:
    message = _error(_config(tmp_path, daemon={"zzz": 1}), host)
    assert ": daemon.zzz: " in message
    assert "allowed: state, listen" in message


def test_wrong_type(tmp_path: Path, host: PluginHost) -> None:
    message = _error(_config(tmp_path, connection={"enabled": "yes"}), host)
    assert ": connection[0].enabled: " in message
    assert "bool" in message  # the expected type is named (wording is the decoder's)


def test_wrong_type_in_an_adapter_table(tmp_path: Path, host: PluginHost) -> None:
    message = _error(_config(tmp_path, erp=_erp(layout="nineteen")), host)
    assert ": connection[0].erp.layout: " in message
    assert "int" in message  # the expected type is named (wording is the decoder's)


def test_bad_enum_value_lists_the_choices(tmp_path: Path, host: PluginHost) -> None:
    message = _error(_config(tmp_path, connection={"mode": "shop"}), host)
    assert ": connection[0].mode: " in message
    assert "expected one of: ecom, erp, combo" in message
    message = _error(_config(tmp_path, sections={"orders": {"document": "receipt"}}), host)
    assert ": connection[0].orders.document: " in message
    assert "expected one of: invoice, order" in message


def test_bad_duration(tmp_path: Path, host: PluginHost) -> None:
    message = _error(_config(tmp_path, connection={"poll": {"orders": "5 minutes"}}), host)
    assert ": connection[0].poll.orders: " in message
    assert "duration like '60s'" in message


def test_negative_duration(tmp_path: Path, host: PluginHost) -> None:
    message = _error(_config(tmp_path, daemon={"shutdown_deadline": -1}), host)
    assert ": daemon.shutdown_deadline: " in message
    assert "negative" in message


def test_invalid_toml(tmp_path: Path, host: PluginHost) -> None:
    message = _error(_write(tmp_path, "[daemon]\nstate = = 1\n"), host)
    assert "not valid TOML" in message
    assert "line 2" in message


def test_unreadable_file(tmp_path: Path, host: PluginHost) -> None:
    message = _error(tmp_path / "missing.toml", host)
    assert "cannot read config" in message


def test_duplicate_connection_names(tmp_path: Path, host: PluginHost) -> None:
    text = toml_config(state="s.db", erp=_erp(), shops=[_shop()], name="b")
    second = text.split("[[connection]]", 1)[1]
    message = _error(_write(tmp_path, text + "\n[[connection]]" + second), host)
    assert ": connection[1].name: " in message
    assert "duplicate connection name 'b'" in message


def test_duplicate_shop_names(tmp_path: Path, host: PluginHost) -> None:
    message = _error(_config(tmp_path, shops=[_shop("se"), _shop("se")]), host)
    assert ": connection[0].shops[1].name: " in message
    assert "duplicate shop name 'se'" in message


def test_several_shops_need_names(tmp_path: Path, host: PluginHost) -> None:
    message = _error(_config(tmp_path, shops=[_shop(), _shop()]), host)
    assert ": connection[0].shops[0].name: " in message
    assert "need a name each" in message


def test_several_named_shops_load(tmp_path: Path, host: PluginHost) -> None:
    loaded = load_config(_config(tmp_path, shops=[_shop("se"), _shop("no")]), host)
    assert [shop.name for shop in loaded.connections[0].shops] == ["se", "no"]


def test_connection_without_shops(tmp_path: Path, host: PluginHost) -> None:
    text = toml_config(state="s.db", erp=_erp(), shops=[])
    message = _error(_write(tmp_path, text), host)
    assert ": connection[0].shops: " in message


def test_unknown_adapter_kind_lists_the_installed(tmp_path: Path, host: PluginHost) -> None:
    message = _error(_config(tmp_path, shops=[_shop(kind="shopify")]), host)
    assert ": connection[0].shops[0].kind: " in message
    assert "'shopify'" in message
    assert "installed: norce, prestashop, starweb, vendure" in message
    message = _error(_config(tmp_path, erp=_erp(kind="visma")), host)
    assert ": connection[0].erp.kind: " in message
    assert "installed: economic, fortnox, hogia, specter, tryton" in message


def test_missing_adapter_kind(tmp_path: Path, host: PluginHost) -> None:
    shop = _shop()
    del shop["kind"]
    message = _error(_config(tmp_path, shops=[shop]), host)
    assert ": connection[0].shops[0].kind: missing" in message


def test_erp_kind_used_as_a_shop(tmp_path: Path, host: PluginHost) -> None:
    message = _error(_config(tmp_path, shops=[_erp()]), host)
    assert ": connection[0].shops[0].kind: " in message
    assert "'economic' is an ERP adapter, not a shop adapter" in message


def test_shop_kind_used_as_the_erp(tmp_path: Path, host: PluginHost) -> None:
    message = _error(_config(tmp_path, erp=_shop()), host)
    assert ": connection[0].erp.kind: " in message
    assert "is a shop adapter, not an ERP adapter" in message


# -- secrets -----------------------------------------------------------------------------------


def test_env_secret_is_resolved(
    tmp_path: Path, host: PluginHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BRYGGA_TEST_ECO_APP", SECRET)
    path = _config(tmp_path, erp=_erp(app_secret_token={"env": "BRYGGA_TEST_ECO_APP"}))
    erp = load_config(path, host).connections[0].erp
    token = erp.app_secret_token  # type: ignore[attr-defined]
    assert isinstance(token, Secret)
    assert token.reveal() == SECRET
    assert token.source == "env:BRYGGA_TEST_ECO_APP"


def test_missing_env_secret_names_the_variable(
    tmp_path: Path, host: PluginHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BRYGGA_TEST_UNSET", raising=False)
    path = _config(tmp_path, erp=_erp(app_secret_token={"env": "BRYGGA_TEST_UNSET"}))
    message = _error(path, host)
    assert ": connection[0].erp.app_secret_token: " in message
    assert "environment variable BRYGGA_TEST_UNSET is not set" in message


def test_empty_env_secret_is_refused(
    tmp_path: Path, host: PluginHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BRYGGA_TEST_BLANK", "  ")  # e.g. `NAME=` left blank in brygga.env
    path = _config(tmp_path, erp=_erp(app_secret_token={"env": "BRYGGA_TEST_BLANK"}))
    message = _error(path, host)
    assert ": connection[0].erp.app_secret_token: " in message
    assert "environment variable BRYGGA_TEST_BLANK is empty" in message


def test_file_secret_relative_to_the_config_folder(
    tmp_path: Path, host: PluginHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    (tmp_path / "eco-grant").write_text(SECRET + "\n", encoding="utf-8")
    path = _config(tmp_path, erp=_erp(agreement_grant_token={"file": "eco-grant"}))
    erp = load_config(path, host).connections[0].erp
    grant = erp.agreement_grant_token  # type: ignore[attr-defined]
    assert grant.reveal() == SECRET, "read and stripped of its newline"
    assert grant.source == f"file:{tmp_path / 'eco-grant'}"


def test_file_secret_relative_to_credentials_directory(
    tmp_path: Path, host: PluginHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    creds = tmp_path / "credentials"
    creds.mkdir()
    (creds / "eco-grant").write_text(SECRET, encoding="utf-8")
    (tmp_path / "eco-grant").write_text("the-wrong-one", encoding="utf-8")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    path = _config(tmp_path, erp=_erp(agreement_grant_token={"file": "eco-grant"}))
    erp = load_config(path, host).connections[0].erp
    assert erp.agreement_grant_token.reveal() == SECRET  # type: ignore[attr-defined]


def test_absolute_secret_file_ignores_credentials_directory(
    tmp_path: Path, host: PluginHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path / "nowhere"))
    secret_file = tmp_path / "grant"
    secret_file.write_text(SECRET, encoding="utf-8")
    path = _config(tmp_path, erp=_erp(agreement_grant_token={"file": str(secret_file)}))
    erp = load_config(path, host).connections[0].erp
    assert erp.agreement_grant_token.reveal() == SECRET  # type: ignore[attr-defined]


def test_missing_secret_file(
    tmp_path: Path, host: PluginHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    path = _config(tmp_path, shops=[_shop(client_secret={"file": "sw-secret"})])
    message = _error(path, host)
    assert ": connection[0].shops[0].client_secret: " in message
    assert f"cannot read secret file {tmp_path / 'sw-secret'}" in message


def test_empty_secret_file(
    tmp_path: Path, host: PluginHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    (tmp_path / "sw-secret").write_text("\n  \n", encoding="utf-8")
    path = _config(tmp_path, shops=[_shop(client_secret={"file": "sw-secret"})])
    message = _error(path, host)
    assert ": connection[0].shops[0].client_secret: " in message
    assert "is empty" in message


def test_malformed_secret_spec(tmp_path: Path, host: PluginHost) -> None:
    message = _error(_config(tmp_path, erp=_erp(app_secret_token={"envv": "X"})), host)
    assert ": connection[0].erp.app_secret_token: " in message
    assert '{ env = "NAME" }' in message


def _assert_hidden(*texts: str) -> None:
    for text in texts:
        assert SECRET not in text


def test_secrets_never_appear_in_errors(
    tmp_path: Path, host: PluginHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BRYGGA_TEST_SECRET", SECRET)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    (tmp_path / "secret-file").write_text(SECRET, encoding="utf-8")
    inline = _erp(app_secret_token=SECRET, agreement_grant_token=SECRET)
    from_env = _shop(client_secret={"env": "BRYGGA_TEST_SECRET"})
    from_file = _shop(client_secret={"file": "secret-file"})
    broken = [
        _config(tmp_path, erp={**inline, "layot": 1}),
        _config(tmp_path, erp={**inline, "layout": "x"}),
        _config(tmp_path, erp=inline, shops=[{**from_env, "pagelimit": 1}]),
        _config(tmp_path, erp=inline, shops=[{**from_file, "page_limit": 0}]),
        _config(tmp_path, erp=inline, shops=[_shop("a", client_id=SECRET)] * 2),
        _config(tmp_path, erp=inline, shops=[{**from_env, "kind": "nope"}]),
        _config(tmp_path, erp={**inline, "app_secret_token": [SECRET]}),
        _config(tmp_path, erp={**inline, "kind": "starweb"}),
    ]
    for path in broken:
        _assert_hidden(_error(path, host))


def test_secrets_never_appear_in_reprs(
    tmp_path: Path, host: PluginHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BRYGGA_TEST_SECRET", SECRET)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    (tmp_path / "secret-file").write_text(SECRET, encoding="utf-8")
    erp = _erp(app_secret_token=SECRET, agreement_grant_token={"file": "secret-file"})
    shop = _shop(client_id=SECRET, client_secret={"env": "BRYGGA_TEST_SECRET"})
    loaded = load_config(_config(tmp_path, erp=erp, shops=[shop]), host)
    conn = loaded.connections[0]
    _assert_hidden(
        repr(loaded),
        str(loaded),
        repr(loaded.config),
        repr(conn),
        repr(conn.config),
        repr(conn.erp),
        repr(conn.shops),
        conn.fingerprint,
    )
    assert conn.erp.app_secret_token.reveal() == SECRET  # type: ignore[attr-defined]
    assert conn.shops[0].client_secret.reveal() == SECRET  # type: ignore[attr-defined]


# -- the shop's time zone (dates the ERP documents) ---------------------------------------------


def test_shop_time_zone_defaults_to_stockholm_and_can_be_set(
    tmp_path: Path, host: PluginHost
) -> None:
    shops = [_shop("a"), _shop("b", timezone="Europe/Helsinki")]
    conn = load_config(_config(tmp_path, shops=shops), host).connections[0]
    assert [shop.timezone for shop in conn.shops] == ["Europe/Stockholm", "Europe/Helsinki"]


@pytest.mark.parametrize("zone", ["Europe/Stockhom", "Mars/Olympus_Mons", "", "../../etc/passwd"])
def test_unknown_shop_time_zone_is_a_config_error_naming_the_key(
    tmp_path: Path, host: PluginHost, zone: str
) -> None:
    shops = [_shop("a"), _shop("b", timezone=zone)]
    message = _error(_config(tmp_path, shops=shops), host)
    assert ": connection[0].shops[1].timezone: " in message
    assert repr(zone) in message  # names the wrong value, not just the key


def test_time_zone_on_the_erp_is_refused(tmp_path: Path, host: PluginHost) -> None:
    # documents are dated in the shop's zone; an ERP key would be silently ignored
    message = _error(_config(tmp_path, erp=_erp(timezone="Europe/Oslo")), host)
    assert ": connection[0].erp.timezone: " in message
    assert "shop" in message


# -- webhook tokens --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "token",
    [
        "Zx9-distinctive/s3cret-VALUE",
        "Zx9 distinctive s3cret VALUE",
        "Zx9%2Fdistinctive-s3cret",
        "Zx9-distinctive-s3cret-VÄLUE",
        "Zx9-distinctive-s3cret?VALUE",
    ],
)
def test_webhook_token_must_be_url_safe(tmp_path: Path, host: PluginHost, token: str) -> None:
    message = _error(_config(tmp_path, shops=[_shop(webhook_token=token)]), host)
    assert "shops[0].webhook_token" in message
    assert "token_urlsafe" in message, "the error says how to make a good one"
    assert token not in message and "distinctive" not in message


def test_a_url_safe_webhook_token_loads(tmp_path: Path, host: PluginHost) -> None:
    token = "Ab0-_.~" + secrets.token_urlsafe(32)
    loaded = load_config(_config(tmp_path, shops=[_shop(webhook_token=token)]), host)
    webhook_token = loaded.connections[0].shops[0].webhook_token
    assert webhook_token is not None and webhook_token.reveal() == token


# -- settle: how long a write whose outcome is unknown is given to land ---------------------------


def test_settle_defaults_to_the_adapters_and_can_be_set(tmp_path: Path, host: PluginHost) -> None:
    conn = load_config(_config(tmp_path), host).connections[0]
    assert settle_seconds(conn.erp_spec, conn.erp) == conn.erp_spec.capabilities.settle == 60.0
    conn = load_config(_config(tmp_path, erp=_erp(settle="5m")), host).connections[0]
    assert settle_seconds(conn.erp_spec, conn.erp) == 300.0


@pytest.mark.parametrize("settle", ["10s", "30s"])
def test_settle_not_longer_than_the_client_timeout_is_refused(
    tmp_path: Path, host: PluginHost, settle: str
) -> None:
    # a write that timed out after 30 s could otherwise be sent again before it lands
    message = _error(_config(tmp_path, erp=_erp(settle=settle)), host)
    assert ": connection[0].erp.settle: " in message
    assert "timeout" in message and "60s" in message  # names the limit and a value that works


# -- history retention --------------------------------------------------------------------------


def test_keep_history_defaults_to_90_days_and_reads_a_duration(
    tmp_path: Path, host: PluginHost
) -> None:
    assert load_config(_config(tmp_path), host).config.daemon.keep_history == 90 * 86400
    path = _config(tmp_path)
    text = path.read_text().replace("[daemon]", '[daemon]\nkeep_history = "30d"', 1)
    assert "[daemon]" in text, "the test config has a [daemon] table"
    path.write_text(text)
    assert load_config(path, host).config.daemon.keep_history == 30 * 86400


# -- values that decode but would not run, or would hurt -----------------------------------------


@pytest.mark.parametrize(
    ("listen", "problem"),
    [
        ("localhost", "has no port"),
        ("127.0.0.1:65536", "0-65535"),
        ("127.0.0.1:http", "0-65535"),
        ("::1:9464", "brackets"),
        ("bad host:9464", "not an IP address or host name"),
    ],
)
def test_a_listen_address_run_cannot_bind_is_refused(
    tmp_path: Path, host: PluginHost, listen: str, problem: str
) -> None:
    message = _error(_config(tmp_path, listen=listen), host)
    assert f": daemon.listen: listen address {listen!r}" in message
    assert problem in message
    assert "e.g. " in message


@pytest.mark.parametrize("listen", ["127.0.0.1:9464", ":9464", "[::1]:9464", "localhost:0"])
def test_good_listen_addresses_load(tmp_path: Path, host: PluginHost, listen: str) -> None:
    assert load_config(_config(tmp_path, listen=listen), host).config.daemon.listen == listen


@pytest.mark.parametrize("workers", [0, -1, 33, 100000])
def test_workers_out_of_range_is_refused(tmp_path: Path, host: PluginHost, workers: int) -> None:
    message = _error(_config(tmp_path, sections={"orders": {"workers": workers}}), host)
    assert f": connection[0].orders.workers: {workers} is out of range; use 1 to 32" in message


@pytest.mark.parametrize("workers", [1, 32])
def test_workers_at_the_bounds_load(tmp_path: Path, host: PluginHost, workers: int) -> None:
    loaded = load_config(_config(tmp_path, sections={"orders": {"workers": workers}}), host)
    assert loaded.connections[0].config.orders.workers == workers


@pytest.mark.parametrize(
    ("register", "value", "floor"),
    [
        ("orders", "0s", "5s"),
        ("orders", "4.9s", "5s"),
        ("status", "1s", "5s"),
        ("stock", "10s", "30s"),
        ("products", "59s", "1m"),
        ("prices", 0, "1m"),
        ("price_lists", "500ms", "1m"),
    ],
)
def test_polling_a_remote_system_too_often_is_refused(
    tmp_path: Path, host: PluginHost, register: str, value: object, floor: str
) -> None:
    message = _error(_config(tmp_path, connection={"poll": {register: value}}), host)
    assert f": connection[0].poll.{register}: " in message
    assert f"polled at most every {floor} against remote systems" in message
    assert f"e.g. {register} = " in message


def test_polling_at_the_floor_loads(tmp_path: Path, host: PluginHost) -> None:
    poll = {"orders": "5s", "status": "5s", "stock": "30s", "products": "1m", "prices": 60}
    loaded = load_config(_config(tmp_path, connection={"poll": poll}), host)
    assert loaded.connections[0].config.poll.orders == 5


@pytest.mark.parametrize("base", ["http://127.0.0.1:8080", "http://localhost:8080", "http://[::1]"])
def test_systems_on_this_machine_may_be_polled_every_half_second(
    tmp_path: Path, host: PluginHost, base: str
) -> None:
    # the demo and the tests poll simulators on loopback: that costs nobody anything
    erp, shop = _erp(base_url=base), _shop(base_url=f"{base}/api/v2")
    poll = {"orders": "0.5s", "stock": "0.5s"}
    loaded = load_config(_config(tmp_path, erp=erp, shops=[shop], connection={"poll": poll}), host)
    assert loaded.connections[0].config.poll.orders == 0.5
    message = _error(
        _config(tmp_path, erp=erp, shops=[shop], connection={"poll": {"orders": "0.1s"}}), host
    )
    assert "polled at most every 0.5s when every system is on this machine" in message


def test_one_remote_system_makes_the_remote_floor_apply(tmp_path: Path, host: PluginHost) -> None:
    erp = _erp(base_url="http://127.0.0.1:8080")
    path = _config(tmp_path, erp=erp, connection={"poll": {"orders": "1s"}})  # shop is remote
    assert "at most every 5s against remote systems" in _error(path, host)


@pytest.mark.parametrize(
    ("erp", "shop", "key"),
    [
        ({"base_url": "http://restapi.e-conomic.com"}, {}, "erp"),
        ({}, {"base_url": "http://butiken.starwebserver.se/api/v2"}, "shops[0]"),
        ({}, {"base_url": "http://10.0.0.5/api/v2"}, "shops[0]"),
        ({}, {"base_url": "http://user:pa55word@shop.example/api/v2"}, "shops[0]"),
    ],
)
def test_plain_http_to_another_host_is_refused(
    tmp_path: Path, host: PluginHost, erp: dict[str, Any], shop: dict[str, Any], key: str
) -> None:
    message = _error(_config(tmp_path, erp=_erp(**erp), shops=[_shop(**shop)]), host)
    assert f": connection[0].{key}.base_url: http://" in message
    assert "clear text; use https://" in message
    assert "pa55word" not in message and "user" not in message


@pytest.mark.parametrize("base", ["ftp://shop.example/api", "shop.example/api/v2", "https://"])
def test_a_base_url_that_is_no_https_url_is_refused(
    tmp_path: Path, host: PluginHost, base: str
) -> None:
    message = _error(_config(tmp_path, erp=_erp(base_url=base)), host)
    assert ": connection[0].erp.base_url: not an https:// URL" in message


def test_no_connection_is_refused(tmp_path: Path, host: PluginHost) -> None:
    for text in ("", "# nothing yet\n", '[daemon]\nlisten = "127.0.0.1:9464"\n'):
        message = _error(_write(tmp_path, text), host)
        assert message == f"{tmp_path / 'brygga.toml'}: " + (
            "no [[connection]] in this file; add one (a name, an ERP and a shop: see "
            "Configuration in the README)"
        )


def test_a_file_that_is_not_utf8_names_line_and_column(tmp_path: Path, host: PluginHost) -> None:
    path = _config(tmp_path)
    text = path.read_text(encoding="utf-8")
    path.write_bytes(text.replace("butiken", "b\u00e5tiken").encode("latin-1"))
    message = _error(path, host)
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "butiken" in row)
    assert f"not UTF-8 (byte 0xe5 at line {line}, column 10); save the file as UTF-8" in message


def test_a_utf8_byte_order_mark_is_allowed(tmp_path: Path, host: PluginHost) -> None:
    path = _config(tmp_path)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())  # as Notepad saves it
    assert load_config(path, host).connections[0].name == "butiken"


def test_an_inline_table_over_several_lines_gets_a_hint(tmp_path: Path, host: PluginHost) -> None:
    text = _config(tmp_path).read_text(encoding="utf-8")
    spread = text.replace(", app_secret_token", ",\n  app_secret_token", 1)
    assert spread != text
    message = _error(_write(tmp_path, spread), host)
    assert "not valid TOML: Invalid initial character for a key part (at line " in message
    assert "an inline table { ... } must end on the line it starts on" in message


def test_a_key_set_twice_is_named_without_its_value(tmp_path: Path, host: PluginHost) -> None:
    """tomllib says only "Cannot overwrite a value (at line N, column M)" (first-hour QA)."""
    text = toml_config(state="s.db", erp=_erp(), shops=[_shop()], name="butiken")
    text = text.replace("[[connection]]\n", '[[connection]]\nmode = "erp"\nmode = "combo"\n', 1)
    message = _error(_write(tmp_path, text), host)
    assert "`mode` is set twice in its table" in message
    assert "combo" not in message, "the line's value is not repeated (it may be a secret)"


# -- values accepted without a word before (first-hour QA finding 15) ------------------------


def test_an_empty_fee_article_is_refused(tmp_path: Path, host: PluginHost) -> None:
    path = _config(tmp_path, sections={"orders": {"fee_articles": {"freight": ""}}})
    message = _error(path, host)
    assert ": connection[0].orders.fee_articles.freight: '' is no article number" in message
    assert "'fraktavg'" in message


def test_a_misspelt_disabled_plugin_is_refused(tmp_path: Path, host: PluginHost) -> None:
    path = _config(tmp_path, daemon={"disabled_plugins": ["starwebb"]})
    message = _error(path, host)
    assert ": daemon.disabled_plugins: no installed plugin is named 'starwebb'" in message
    assert "did you mean 'starweb'?" in message
    assert load_config(_config(tmp_path, daemon={"disabled_plugins": ["prestashop"]}), host)


def test_settings_for_a_plugin_that_is_not_installed_are_refused(
    tmp_path: Path, host: PluginHost
) -> None:
    path = _config(tmp_path, extra='\n[plugins.qa_fieldz]\nprefix = "QA"\n')
    message = _error(path, host)
    assert ": plugins.qa_fieldz: no installed plugin is named 'qa_fieldz'" in message


def test_a_status_watch_of_zero_is_refused_when_rules_need_it(
    tmp_path: Path, host: PluginHost
) -> None:
    rules = {"watch": "0s", "invoiced": {"shop_status": "completed"}}
    message = _error(_config(tmp_path, sections={"status": rules}), host)
    assert ": connection[0].status.watch: 0s watches no ERP document" in message
