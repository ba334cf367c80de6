"""A reporter's contact: personal data, masked in every read and encrypted at rest."""

from __future__ import annotations

import json
from dataclasses import dataclass

from cityops.cases.models import CaseRecord
from cityops.kit.crypto import DataCipher


@dataclass(frozen=True, slots=True)
class Contact:
    """Who reported a case and how to call them back."""

    name: str | None
    phone: str | None
    email: str | None = None

    def __bool__(self) -> bool:
        """Whether there is anything to keep."""
        return bool(self.name or self.phone or self.email)


def mask_phone(phone: str) -> str:
    """Keep the first three and last four characters: 13812345678 → 138****5678."""
    if len(phone) >= 8:
        return f"{phone[:3]}****{phone[-4:]}"
    return "*" * len(phone)


def mask_name(name: str) -> str:
    """Keep the family name: 张三 → 张*, 欧阳娜娜 → 欧***."""
    if len(name) <= 1:
        return "*" * len(name)
    return name[0] + "*" * (len(name) - 1)


def mask_email(email: str) -> str:
    """Keep the first character of the local part and the domain: zhang@x.cn → z****@x.cn."""
    local, at, domain = email.partition("@")
    if not at:
        return "*" * len(email)
    return (local[:1] + "*" * max(len(local) - 1, 1)) + "@" + domain


def _context(case_id: int) -> str:
    # Binding the ciphertext to its row: a token copied onto another case does not decrypt.
    return f"case_record:{case_id}:reporter_contact"


def seal(case: CaseRecord, contact: Contact, cipher: DataCipher) -> None:
    """Store the masked forms and the encrypted contact on a case that has an id."""
    case.reporter_name_masked = mask_name(contact.name) if contact.name else None
    case.reporter_phone_masked = mask_phone(contact.phone) if contact.phone else None
    case.reporter_email_masked = mask_email(contact.email) if contact.email else None
    fields = {"name": contact.name, "phone": contact.phone}
    if contact.email:
        fields["email"] = contact.email
    plain = json.dumps(fields, ensure_ascii=False)
    case.reporter_contact_enc = cipher.encrypt(plain, _context(case.id))


def unseal(case: CaseRecord, cipher: DataCipher) -> Contact | None:
    """The decrypted contact of a case, or None when it has none."""
    if case.reporter_contact_enc is None:
        return None
    data = json.loads(cipher.decrypt(case.reporter_contact_enc, _context(case.id)))
    return Contact(name=data.get("name"), phone=data.get("phone"), email=data.get("email"))
