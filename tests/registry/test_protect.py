"""Sealing residents' identifiers: what is stored does not contain the value, opens only with the same key and
column, and the blind index finds equal values without revealing them."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from pydantic import SecretStr

from civicgrid.registry.protect import KEY_FILE, Protector, RegistryKeyError, new_key, protector_for
from civicgrid.settings import Settings

ID_NUMBER = "11010519491231002X"


def test_a_sealed_value_opens_only_with_its_key_and_column() -> None:
    protector = Protector(b"k" * 32)
    sealed = protector.seal(ID_NUMBER, "resident.id_number")
    assert ID_NUMBER not in sealed and sealed.startswith("v1:")
    assert sealed != protector.seal(ID_NUMBER, "resident.id_number")  # a fresh nonce each time
    assert protector.open(sealed, "resident.id_number") == ID_NUMBER
    with pytest.raises(RegistryKeyError) as moved:
        protector.open(sealed, "resident.phone")
    assert moved.value.code == "registry_key_mismatch"
    with pytest.raises(RegistryKeyError):
        Protector(b"o" * 32).open(sealed, "resident.id_number")


def test_the_blind_index_matches_equal_values_per_key_and_column() -> None:
    protector = Protector(b"k" * 32)
    index = protector.blind_index(ID_NUMBER, "resident.id_number")
    assert index == protector.blind_index(ID_NUMBER, "resident.id_number") and len(index) == 64
    assert index != protector.blind_index(ID_NUMBER, "resident.phone")
    assert index != Protector(b"o" * 32).blind_index(ID_NUMBER, "resident.id_number")
    assert ID_NUMBER.lower() not in index


def test_without_a_configured_key_one_is_created_privately_and_kept(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path)
    sealed = protector_for(settings).seal(ID_NUMBER, "c")
    key_file = tmp_path / KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert protector_for(Settings(var_dir=tmp_path)).open(sealed, "c") == ID_NUMBER  # the same key next time


def test_a_configured_key_is_used_and_a_malformed_one_refused(tmp_path: Path) -> None:
    key = new_key()
    sealed = protector_for(Settings(var_dir=tmp_path, registry_key=SecretStr(key))).seal(ID_NUMBER, "c")
    assert not (tmp_path / KEY_FILE).exists()
    assert protector_for(Settings(var_dir=tmp_path / "other", registry_key=SecretStr(key))).open(sealed, "c")
    for malformed, words in (("c2hvcnQ", "32字节"), ("not*base64!", "base64url")):  # "short"; not base64 at all
        with pytest.raises(RegistryKeyError) as refused:
            protector_for(Settings(var_dir=tmp_path, registry_key=SecretStr(malformed)))
        assert words in refused.value.message
