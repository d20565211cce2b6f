"""WeChat message types -> dialogue turns, registered by decorator; the state is loaded and saved here."""
from __future__ import annotations

import logging
from typing import Callable

from sqlmodel import select

from bot.classifier.runtime import get_classifier
from bot.conversation import engine, texts
from bot.dispatch.calendar import load_calendar
from bot.wechat.endpoint import InboundContext
from bot.wechat.messages import (
    ClickEvent,
    ImageMessage,
    LinkMessage,
    LocationEvent,
    LocationMessage,
    Message,
    ScanEvent,
    ShortVideoMessage,
    SubscribeEvent,
    TemplateSendJobFinishEvent,
    TextMessage,
    UnknownMessage,
    UnsubscribeEvent,
    VideoMessage,
    ViewEvent,
    VoiceMessage,
)
from bot.wechat.router import Router
from models import Conversation

log = logging.getLogger(__name__)
router = Router()


def _turn(ctx: InboundContext, fn: Callable[[dict, engine.Services], str | None]) -> str | None:
    """Run one dialogue turn on the consumer's stored state (the consumer row is already locked)."""
    session = ctx.session
    conversation = session.exec(select(Conversation).where(Conversation.consumer_id == ctx.consumer.id)).first()
    if conversation is None:
        conversation = Conversation(consumer_id=ctx.consumer.id, updated_at=ctx.now)
        session.add(conversation)
        session.flush()
    state = dict(conversation.data or {})
    settings = ctx.settings
    classifier = get_classifier(settings.model_path, settings.secret_key)
    services = engine.Services(session=session, consumer=ctx.consumer, predict=classifier.predict,
                               threshold=classifier.threshold, calendar=lambda: load_calendar(session), now=ctx.now)
    reply = fn(state, services)
    if state.get("draft") is not None:
        state["draft"].setdefault("messages", []).append(ctx.inbound.id)
    if state.pop("needs_human", False):
        conversation.needs_human = True
    ticket_number = state.get("last_ticket")
    conversation.data = state
    conversation.state = state.get("mode", "idle")
    conversation.updated_at = ctx.now
    session.add(conversation)
    if ticket_number and reply and ticket_number in reply:
        from models import Ticket

        ticket = session.exec(select(Ticket).where(Ticket.number == ticket_number)).first()
        if ticket is not None:
            ctx.inbound.ticket_id = ticket.id
    return reply


@router.on(TextMessage)
def on_text(message: TextMessage, ctx: InboundContext) -> str | None:
    return _turn(ctx, lambda state, svc: engine.handle_text(state, message.content, svc))


@router.on(VoiceMessage)
def on_voice(message: VoiceMessage, ctx: InboundContext) -> str | None:
    recognition = message.get("recognition")
    if not recognition:
        return texts.VOICE_UNRECOGNISED
    return _turn(ctx, lambda state, svc: engine.handle_text(state, recognition, svc))


@router.on(ImageMessage, VideoMessage, ShortVideoMessage)
def on_media(message: Message, ctx: InboundContext) -> str | None:
    return _turn(ctx, lambda state, svc: engine.handle_media(
        state, message.type_name, message.get("media_id"), message.get("pic_url"), ctx.inbound.id, svc))


@router.on(LocationMessage)
def on_location(message: LocationMessage, ctx: InboundContext) -> str | None:
    return _turn(ctx, lambda state, svc: engine.handle_location(
        state, message.latitude, message.longitude, message.get("label"), svc))


@router.on(LocationEvent)
def on_location_report(message: LocationEvent, ctx: InboundContext) -> None:
    _turn(ctx, lambda state, svc: engine.handle_location(state, message.latitude, message.longitude, None, svc,
                                                         silent=True))
    return None


@router.on(LinkMessage)
def on_link(message: LinkMessage, ctx: InboundContext) -> str | None:
    text = " ".join(filter(None, (message.get("title"), message.get("description"))))
    url = message.get("url") or ""

    def turn(state, svc):
        if state.get("draft"):
            state["draft"]["text"] += f"\n（链接：{text} {url}）"
            return "已把这个链接附在投诉说明中。" + ("\n" + (engine._current_prompt(state) or ""))
        return engine.handle_text(state, text, svc) if text else texts.NOT_A_COMPLAINT
    return _turn(ctx, turn)


@router.on(SubscribeEvent)
def on_subscribe(message: SubscribeEvent, ctx: InboundContext) -> str:
    ctx.consumer.subscribed = True
    if message.scene:
        ctx.consumer.subscribe_scene = message.scene[:64]
    ctx.session.add(ctx.consumer)
    return texts.WELCOME


@router.on(UnsubscribeEvent)
def on_unsubscribe(message: UnsubscribeEvent, ctx: InboundContext) -> None:
    ctx.consumer.subscribed = False
    ctx.session.add(ctx.consumer)
    return None


@router.on(ScanEvent)
def on_scan(message: ScanEvent, ctx: InboundContext) -> str:
    return texts.WELCOME_BACK


MENU = {"COMPLAIN": "请直接描述您遇到的消费问题：哪个商家、在哪、发生了什么、希望怎么解决。",
        "HELP": texts.HELP}


@router.on(ClickEvent)
def on_click(message: ClickEvent, ctx: InboundContext) -> str | None:
    key = (message.event_key or "").upper()
    if key == "QUERY":
        return _turn(ctx, lambda state, svc: engine.handle_text(state, "查询", svc))
    return MENU.get(key, texts.HELP)


@router.on(ViewEvent)
def on_view(message: ViewEvent, ctx: InboundContext) -> None:
    return None


@router.on(TemplateSendJobFinishEvent)
def on_template_finished(message: TemplateSendJobFinishEvent, ctx: InboundContext) -> None:
    if message.status and message.status != "success":
        log.warning("template message %s to %s ended with %s", message.template_msg_id, message.openid,
                    message.status)
    return None


@router.on(UnknownMessage)
def on_unknown(message: UnknownMessage, ctx: InboundContext) -> str:
    log.info("unsupported WeChat message type %r (event %r)", message.raw.get("MsgType"), message.raw.get("Event"))
    return texts.UNSUPPORTED
