"""Personal data at rest: SM4-GCM (else AES-256-GCM), bound to its row, key from settings or file."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cityops.cases.intake.contact import mask_name, mask_phone
from cityops.cases.models import CaseRecord
from cityops.kit.crypto import (
    AES_256_GCM,
    SM4_GCM,
    CryptoError,
    DataCipher,
    decode_key,
    key_from_file,
    load_cipher,
    new_key_text,
    sm4_gcm_available,
)
from tests.cases.conftest import Api, FakeClock, Places, in_db, sh
from tests.conftest import Backend

KEY = bytes(range(32))


@pytest.mark.parametrize("algorithm", [SM4_GCM, AES_256_GCM])
def test_round_trip_is_bound_to_its_context(algorithm: str) -> None:
    cipher = DataCipher(KEY, prefer=algorithm)
    token = cipher.encrypt('{"phone": "13812345678"}', "case_record:7:reporter_contact")
    assert token.startswith(f"v1.{algorithm}.") and "1381234" not in token
    assert cipher.decrypt(token, "case_record:7:reporter_contact") == '{"phone": "13812345678"}'
    assert cipher.encrypt("same", "c") != cipher.encrypt("same", "c")  # fresh nonce each time
    with pytest.raises(CryptoError, match="does not authenticate"):
        cipher.decrypt(token, "case_record:8:reporter_contact")  # moved onto another row
    tampered = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    with pytest.raises(CryptoError):
        cipher.decrypt(tampered, "case_record:7:reporter_contact")
    with pytest.raises(CryptoError, match="does not authenticate"):
        DataCipher(bytes(32), prefer=algorithm).decrypt(token, "case_record:7:reporter_contact")


def test_sm4_is_preferred_and_both_stay_readable() -> None:
    assert sm4_gcm_available()  # cryptography 50 with OpenSSL 3: SM4-GCM is there
    assert DataCipher(KEY).algorithm == SM4_GCM
    old = DataCipher(KEY, prefer=AES_256_GCM).encrypt("x", "c")
    assert DataCipher(KEY).decrypt(old, "c") == "x"
    for bad in ("v2.sm4gcm.AAAA", "v1.rot13.AAAA", "v1.sm4gcm.AA", "garbage"):
        with pytest.raises(CryptoError):
            DataCipher(KEY).decrypt(bad, "c")


def test_keys_from_settings_and_from_a_generated_file(tmp_path: Path) -> None:
    text = new_key_text()
    assert decode_key(text) == base64.b64decode(text)
    for bad in ("not base64!!", base64.b64encode(b"short").decode()):
        with pytest.raises(CryptoError, match="CITYOPS_DATA_KEY"):
            decode_key(bad)
    path = tmp_path / "var" / "data.key"
    first = key_from_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert key_from_file(path) == first  # read back, not regenerated
    token = load_cipher(None, path).encrypt("x", "c")
    assert load_cipher(path.read_text().strip(), tmp_path / "unused.key").decrypt(token, "c") == "x"
    assert not (tmp_path / "unused.key").exists()


def test_masks() -> None:
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("021-57654321") == "021****4321"
    assert mask_phone("110") == "***"
    assert (mask_name("张三"), mask_name("欧阳娜娜"), mask_name("王")) == ("张*", "欧***", "*")


def test_the_database_holds_no_plain_contact(
    api: Api, places: Places, backend: Backend, clock: FakeClock
) -> None:
    clock.set(sh(2026, 8, 4, 10, 0))
    cid = api.open_case(
        "t_duty", places["310117102002"], reporter={"name": "王五", "phone": "13787654321"}
    )

    async def row(session: AsyncSession) -> CaseRecord:
        found = await session.scalar(select(CaseRecord).where(CaseRecord.id == cid))
        assert found is not None
        return found

    stored = in_db(backend, row)
    assert stored.reporter_phone_masked == "137****4321"
    assert stored.reporter_contact_enc is not None
    assert "13787654321" not in stored.reporter_contact_enc
    assert "王五" not in stored.reporter_contact_enc
    assert api.get("t_duty", f"/{cid}/contact").json()["phone"] == "13787654321"
