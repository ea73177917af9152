"""The `data` objects of the NATS subjects the pipelines consume (events-webhooks.md §7), as pydantic models.
A message whose data does not validate is rejected with the validation message; it never blocks a cursor."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

import pydantic
from pydantic import BaseModel, ConfigDict, Field


class _Data(BaseModel):
    model_config = ConfigDict(extra="allow")


class SessionCompletedEvent(_Data):
    sessionId: UUID
    sessionType: Literal["language", "mentorship"]
    participantId: UUID
    volunteerId: UUID
    completedAt: datetime
    durationMinutes: int = Field(gt=0)
    programId: UUID | None = None


class RatingCreatedEvent(_Data):
    ratingId: str = Field(min_length=1)
    sessionId: UUID
    fromRole: Literal["participant", "volunteer"]
    rating: float = Field(ge=0, le=1)
    feedbackText: str | None = None


class BuddyMatchCreatedEvent(_Data):
    matchId: UUID
    participantId: UUID
    buddyId: UUID
    matchedAt: datetime


class ProfileUpdatedEvent(_Data):
    userId: UUID
    updatedAt: datetime | None = None


class CampaignStatusChangedEvent(_Data):
    campaignId: UUID
    newStatus: str


class InvalidEvent(ValueError):
    """The message is not a JSON envelope with a valid `data` object for its subject."""


def parse_envelope(raw: bytes) -> dict[str, Any]:
    try:
        envelope = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidEvent(f"not JSON: {exc}") from None
    if not isinstance(envelope, dict) or not isinstance(envelope.get("data"), dict):
        raise InvalidEvent("not an envelope: `data` must be an object")
    return envelope


def parse_data(model: type[BaseModel], envelope: dict[str, Any]) -> Any:
    try:
        return model.model_validate(envelope["data"])
    except pydantic.ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'data'}: {e['msg']}" for e in exc.errors()[:3])
        raise InvalidEvent(problems) from None
