"""Inbound WeChat messages and events as small declarative classes.

Each class names its MsgType (or Event) and maps WeChat's XML tags to
attributes; `parse_message` picks the class. The XML parser refuses DTDs and
entities (XXE, billion laughs) before anything is expanded.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring


class MalformedMessage(ValueError):
    """A body that is not a WeChat message we can read."""


def parse_xml(body: bytes | str) -> dict[str, str]:
    """The flat tag -> text mapping of a WeChat XML document (nested tags are flattened)."""
    try:
        root = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (ParseError, DefusedXmlException, ValueError) as exc:
        raise MalformedMessage(f"unreadable XML: {exc.__class__.__name__}") from exc
    if root.tag != "xml":
        raise MalformedMessage("root element is not <xml>")
    values: dict[str, str] = {}
    for element in root.iter():
        if element is root:
            continue
        if len(element) == 0:
            values.setdefault(element.tag, (element.text or "").strip())
    return values


@dataclass
class Message:
    msg_type: ClassVar[str] = ""
    event: ClassVar[str | None] = None
    tags: ClassVar[dict[str, str]] = {}

    to_user: str
    openid: str
    create_time: int
    raw: dict[str, str] = field(repr=False)
    msg_id: str | None = None

    @property
    def type_name(self) -> str:
        return self.raw.get("MsgType", self.msg_type)

    @property
    def dedup_key(self) -> str:
        """Messages are unique by MsgId; events by sender, time and event (WeChat's own rule)."""
        if self.msg_id:
            return f"msg:{self.msg_id}"
        event = self.raw.get("Event", "")
        return f"evt:{self.openid}:{self.create_time}:{event}:{self.raw.get('EventKey', '')}"[:160]

    def get(self, attr: str) -> str | None:
        tag = self.tags.get(attr, attr)
        value = self.raw.get(tag)
        return value if value != "" else None

    def summary(self) -> str:
        """A one-line text kept as the message's content for evidence and search."""
        return self.type_name


@dataclass
class TextMessage(Message):
    msg_type = "text"

    @property
    def content(self) -> str:
        return self.raw.get("Content", "")

    def summary(self) -> str:
        return self.content


@dataclass
class ImageMessage(Message):
    msg_type = "image"
    tags = {"pic_url": "PicUrl", "media_id": "MediaId"}


@dataclass
class VoiceMessage(Message):
    msg_type = "voice"
    tags = {"media_id": "MediaId", "format": "Format", "recognition": "Recognition"}

    def summary(self) -> str:
        return self.get("recognition") or "[语音]"


@dataclass
class VideoMessage(Message):
    msg_type = "video"
    tags = {"media_id": "MediaId", "thumb_media_id": "ThumbMediaId"}


@dataclass
class ShortVideoMessage(VideoMessage):
    msg_type = "shortvideo"


@dataclass
class LocationMessage(Message):
    msg_type = "location"
    tags = {"label": "Label"}

    @property
    def latitude(self) -> float | None:
        return _float(self.raw.get("Location_X"))

    @property
    def longitude(self) -> float | None:
        return _float(self.raw.get("Location_Y"))

    def summary(self) -> str:
        return self.get("label") or f"{self.latitude},{self.longitude}"


@dataclass
class LinkMessage(Message):
    msg_type = "link"
    tags = {"title": "Title", "description": "Description", "url": "Url"}

    def summary(self) -> str:
        return " ".join(filter(None, (self.get("title"), self.get("description"), self.get("url"))))


@dataclass
class Event(Message):
    msg_type = "event"

    @property
    def event_key(self) -> str | None:
        return self.get("EventKey")


@dataclass
class SubscribeEvent(Event):
    event = "subscribe"

    @property
    def scene(self) -> str | None:
        """The QR-code scene a new follower came from (EventKey "qrscene_<scene>")."""
        key = self.event_key or ""
        return key[len("qrscene_"):] if key.startswith("qrscene_") else None


@dataclass
class UnsubscribeEvent(Event):
    event = "unsubscribe"


@dataclass
class ScanEvent(Event):
    event = "SCAN"


@dataclass
class LocationEvent(Event):
    event = "LOCATION"

    @property
    def latitude(self) -> float | None:
        return _float(self.raw.get("Latitude"))

    @property
    def longitude(self) -> float | None:
        return _float(self.raw.get("Longitude"))


@dataclass
class ClickEvent(Event):
    event = "CLICK"


@dataclass
class ViewEvent(Event):
    event = "VIEW"


@dataclass
class TemplateSendJobFinishEvent(Event):
    event = "TEMPLATESENDJOBFINISH"

    @property
    def status(self) -> str | None:
        return self.get("Status")

    @property
    def template_msg_id(self) -> str | None:
        return self.get("MsgID")


@dataclass
class UnknownMessage(Message):
    """Anything WeChat may add later; answered politely, never a 500."""


MESSAGE_TYPES: dict[str, type[Message]] = {
    cls.msg_type: cls for cls in (TextMessage, ImageMessage, VoiceMessage, VideoMessage, ShortVideoMessage,
                                  LocationMessage, LinkMessage)
}
EVENT_TYPES: dict[str, type[Event]] = {
    cls.event.lower(): cls for cls in (SubscribeEvent, UnsubscribeEvent, ScanEvent, LocationEvent, ClickEvent,
                                       ViewEvent, TemplateSendJobFinishEvent)
}


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        return None


def message_from_fields(values: dict[str, str]) -> Message:
    openid = values.get("FromUserName")
    if not openid:
        raise MalformedMessage("FromUserName missing")
    try:
        create_time = int(values.get("CreateTime") or 0)
    except ValueError as exc:
        raise MalformedMessage("CreateTime is not a number") from exc
    msg_type = values.get("MsgType", "")
    if msg_type == "event":
        cls: type[Message] = EVENT_TYPES.get(values.get("Event", "").lower(), UnknownMessage)
    else:
        cls = MESSAGE_TYPES.get(msg_type, UnknownMessage)
    return cls(to_user=values.get("ToUserName", ""), openid=openid, create_time=create_time, raw=values,
               msg_id=values.get("MsgId") or None)


def parse_message(body: bytes | str) -> Message:
    return message_from_fields(parse_xml(body))
