"""API shapes of the personal-data register and subject requests."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class SubjectRequest(BaseModel):
    """One person, by the mobile number they left (in the body, so it stays out of URLs and logs)."""

    model_config = ConfigDict(extra="forbid")

    phone: str = Field(pattern=r"^1[3-9]\d{9}$", description="Mainland mobile number")


class HoldingRead(BaseModel):
    """One entry of the register."""

    table: str
    columns: list[str]
    what: str
    data_class: str
    protection: str
    retention: str


class RegisterRead(BaseModel):
    """Where personal data is held, and each data class's retention in days."""

    holdings: list[HoldingRead]
    retention_days: dict[str, int]


class ContactOut(BaseModel):
    """A contact as it was left."""

    name: str | None
    phone: str | None
    email: str | None


class HeldCase(BaseModel):
    """One case that holds the person's contact."""

    case_id: int
    created_at: str
    closed_at: str | None
    status: str
    text: str
    address: str
    contact: ContactOut


class SubjectExport(BaseModel):
    """Everything held about one person."""

    phone: str
    cases: list[HeldCase]


class SubjectErased(BaseModel):
    """The cases whose contact was cleared."""

    cases: list[int]
