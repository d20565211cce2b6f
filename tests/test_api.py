"""The JSON API through HTTP: bearer tokens, the console's visibility and phone rules, actions through the
registry, and an OpenAPI 3.1 document that lists every route, validates, and matches what the API answers."""
from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlmodel import select

from bot.core import clock
from bot.dispatch.actions import ACTIONS
from bot.dispatch.calendar import load_calendar
from bot.staff import StaffError, issue_api_token, revoke_api_token
from models import Bureau, Staff, Ticket, TicketStatus
from tests.console_util import file_ticket, make_world

CONSUMER_OPENID = "o-console-consumer"  # make_world's consumer: must never appear in any answer
PHONE, MASKED = "13812345678", "138****5678"


class Api:
    """A client that sends one staff member's token and checks every answer is openid-free UTF-8 JSON."""

    def __init__(self, client, token: str | None) -> None:
        self.client, self.token = client, token

    def _headers(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def _check(self, response):
        assert response.content_type.startswith("application/json"), response.content_type
        text = response.get_data(as_text=True)
        assert CONSUMER_OPENID not in text and "openid" not in text and "\\u" not in text
        return response

    def get(self, path: str, **kw):
        return self._check(self.client.get(path, headers=self._headers(), **kw))

    def post(self, path: str, json=None, **kw):
        return self._check(self.client.post(path, headers=self._headers(), json=json, **kw))


@pytest.fixture
def world(db):
    make_world(db)
    with db.session() as s:  # a staff member who bound WeChat: that openid must not leak either
        s.exec(select(Staff).where(Staff.username == "samr_handler")).one().wechat_openid = "o-staff-openid"
    return db


def token_for(db, username: str) -> str:
    with db.session() as s:
        return issue_api_token(s, username)


@pytest.fixture
def as_(client, world):
    """as_("samr_handler") -> an Api client with a fresh token for that account."""
    return lambda username: Api(client, token_for(world, username))


def ticket_ids(api, query: str = "") -> set[int]:
    response = api.get(f"/api/tickets?per_page=100{query}")
    assert response.status_code == 200, response.get_json()
    return {t["id"] for t in response.get_json()["items"]}


# -- tokens ------------------------------------------------------------------------------------------------------
def test_no_token_a_wrong_token_or_a_disabled_account_is_401(client, world):
    for headers in ({}, {"Authorization": "Bearer"}, {"Authorization": "Bearer not-a-token"},
                    {"Authorization": "Basic c2Ftcl9oYW5kbGVyOmNvbnNvbGUtcGFzcy0x"}):
        response = client.get("/api/tickets", headers=headers)
        assert response.status_code == 401, headers
        assert response.get_json()["error"] and response.headers["WWW-Authenticate"].startswith("Bearer")
    token = token_for(world, "samr_handler")
    assert client.get("/api/me", headers={"Authorization": f"Bearer {token}x"}).status_code == 401
    assert client.get("/api/me", headers={"Authorization": f"bearer {token}"}).status_code == 200
    with world.session() as s:
        s.exec(select(Staff).where(Staff.username == "samr_handler")).one().active = False
    refused = client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 401 and refused.get_json() == {"error": "访问令牌无效或账号已停用"}


def test_a_console_session_cookie_is_no_api_credential(client, world):
    from tests.console_util import login

    login(client, "samr_handler")
    assert client.get("/console/tickets").status_code == 200
    assert client.get("/api/tickets").status_code == 401


def test_only_the_digest_is_stored_and_a_new_token_replaces_the_old(client, world):
    first = token_for(world, "office")
    second = token_for(world, "office")
    with world.session() as s:
        stored = s.exec(select(Staff).where(Staff.username == "office")).one().api_token_digest
    assert stored == hashlib.sha256(second.encode()).hexdigest() and second not in stored and len(second) >= 40
    assert Api(client, first).get("/api/me").status_code == 401
    me = Api(client, second).get("/api/me")
    assert me.status_code == 200
    assert me.get_json() == {**me.get_json(), "username": "office", "role": "city_office", "bureau_name": "放心消费办"}
    with world.session() as s:
        assert revoke_api_token(s, "office") is True
        with pytest.raises(StaffError):
            issue_api_token(s, "nobody")
    assert Api(client, second).get("/api/me").status_code == 401


def test_me_shows_no_secrets(as_):
    body = as_("samr_handler").get("/api/me").get_json()
    assert body["username"] == "samr_handler" and body["bureau_name"] == "市场监管局"
    assert not {"password_hash", "api_token_digest", "wechat_openid"} & set(body)


# -- visibility ---------------------------------------------------------------------------------------------------
def test_list_and_detail_follow_the_console_visibility_rules(as_, world):
    catering = file_ticket(world, town_code="330483001")                        # 市场监管局 leads, 梧桐 station
    telecom = file_ticket(world, sector="telecom", description="宽带断网一周，要求退费")  # 经信局 leads
    unsure = file_ticket(world, sector=None, confidence=None)                    # no sector: the complaint desk
    samr, office, admin = as_("samr_handler"), as_("office"), as_("admin")

    assert ticket_ids(samr) == {catering}
    missing = samr.get(f"/api/tickets/{telecom}")
    assert missing.status_code == 404
    assert missing.get_json() == samr.get("/api/tickets/999999").get_json()  # no hint that it exists
    assert samr.get(f"/api/tickets/{catering}").status_code == 200

    assert ticket_ids(office) == {catering, telecom, unsure}
    assert office.get(f"/api/tickets/{telecom}").status_code == 200
    assert ticket_ids(as_("desk")) == {unsure}
    assert ticket_ids(as_("wutong_station")) == {catering}
    assert ticket_ids(as_("postal_handler")) == set()

    assert admin.get("/api/tickets").get_json()["total"] == 0
    for ticket_id in (catering, telecom, unsure):
        assert admin.get(f"/api/tickets/{ticket_id}").status_code == 404


def test_a_merchant_sees_only_its_direct_settlement_and_compensation_tickets(as_, world):
    from bot.dispatch import settlement

    plain = file_ticket(world)
    gym_open = file_ticket(world, sector="beauty_fitness", merchant_name="鼎盛健身", town_code="330483001")
    gym_forwarded = file_ticket(world, sector="beauty_fitness", merchant_name="鼎盛健身", town_code="330483001")
    glasses = file_ticket(world, sector="general_goods", merchant_name="明视眼镜", town_code="330483107",
                          amount=Decimal("600"))
    with world.session() as s:
        ticket = s.get(Ticket, gym_forwarded)
        settlement.forward_to_bureau(s, ticket, load_calendar(s), "test: merchant declined")
        assert ticket.status == TicketStatus.DISPATCHED and not ticket.compensation_claim
        assert s.get(Ticket, glasses).compensation_claim

    gym = as_("gym")
    assert ticket_ids(gym) == {gym_open}
    for hidden in (plain, gym_forwarded, glasses):
        assert gym.get(f"/api/tickets/{hidden}").status_code == 404
    detail = gym.get(f"/api/tickets/{gym_open}").get_json()
    assert detail["phone"] == MASKED and [a["name"] for a in detail["actions"]] == ["merchant_offer"]
    assert ticket_ids(as_("glasses")) == {glasses}

    # the merchant answers through the API; the ticket stays in direct settlement, so it stays visible
    offered = gym.post(f"/api/tickets/{gym_open}/actions/merchant_offer", json={"offer": "退还剩余课时费", "amount": 1500})
    assert offered.status_code == 200 and offered.get_json()["message"] == "和解方案已发给消费者"
    assert offered.get_json()["ticket"]["events"][-1]["actor_kind"] == "merchant"


def test_the_full_phone_only_for_the_handling_bureau(as_, world):
    ticket_id = file_ticket(world, town_code="330483001")
    assert as_("samr_handler").get(f"/api/tickets/{ticket_id}").get_json()["phone"] == PHONE
    assert as_("samr_head").get(f"/api/tickets/{ticket_id}").get_json()["phone"] == PHONE
    for username in ("office", "commerce_handler", "wutong_station"):  # office, a co-unit, the town station
        response = as_(username).get(f"/api/tickets/{ticket_id}")
        assert response.status_code == 200, username
        assert response.get_json()["phone"] == MASKED, username
        assert PHONE not in response.get_data(as_text=True), username
    # the list never carries the phone
    assert PHONE not in as_("samr_handler").get("/api/tickets").get_data(as_text=True)


# -- list filters and paging ------------------------------------------------------------------------------------
def test_filters_paging_and_bad_query_values(as_, world):
    ids = [file_ticket(world) for _ in range(5)]
    file_ticket(world, sector="online_shopping", description="网上买的鞋是假的", town_code="330483003")
    with world.session() as s:
        s.get(Ticket, ids[0]).overdue = True
    samr = as_("samr_handler")
    page = samr.get("/api/tickets?per_page=2").get_json()
    assert (page["total"], page["pages"], len(page["items"])) == (6, 3, 2)
    assert page["items"][0]["id"] == ids[0] and page["items"][0]["overdue"] is True  # overdue first
    assert len(samr.get("/api/tickets?per_page=2&page=3").get_json()["items"]) == 2
    assert samr.get("/api/tickets?per_page=2&page=9").get_json()["items"] == []
    assert samr.get("/api/tickets?overdue=1").get_json()["total"] == 1
    assert samr.get("/api/tickets?overdue=false").get_json()["total"] == 5
    assert samr.get("/api/tickets?sector=online_shopping").get_json()["total"] == 1
    assert samr.get("/api/tickets?town=330483003").get_json()["total"] == 1
    assert samr.get("/api/tickets?status=dispatched").get_json()["total"] == 6
    assert samr.get("/api/tickets?status=open&sector=catering").get_json()["total"] == 5
    assert samr.get("/api/tickets?status=accepted").get_json()["total"] == 0
    today = clock.today()
    assert samr.get(f"/api/tickets?from={today}&to={today}").get_json()["total"] == 6
    assert samr.get(f"/api/tickets?from={today + timedelta(days=1)}").get_json()["total"] == 0
    assert samr.get(f"/api/tickets?to={today - timedelta(days=1)}").get_json()["total"] == 0
    item = page["items"][0]
    assert item["sector_name"] == "餐饮" and item["status_name"] == "待受理" and item["handler_bureau_name"] == "市场监管局"
    assert item["next_deadline"]["kind"] == "acceptance" and item["next_deadline"]["state"] == "open"
    for query, field in [("per_page=101", "per_page"), ("per_page=0", "per_page"), ("page=0", "page"),
                         ("page=x", "page"), ("status=lost", "status"), ("sector=nowhere", "sector"),
                         ("town=999", "town"), ("overdue=maybe", "overdue"), ("from=2026-13-01", "from"),
                         ("from=2026-02-02&to=2026-02-01", "to")]:
        response = samr.get(f"/api/tickets?{query}")
        assert response.status_code == 400 and response.get_json()["field"] == field, query


# -- detail and actions ------------------------------------------------------------------------------------------
def test_detail_has_deadlines_timeline_and_actions_with_their_choices(as_, world):
    ticket_id = file_ticket(world)
    detail = as_("samr_handler").get(f"/api/tickets/{ticket_id}").get_json()
    assert detail["description"].startswith("在梧桐的饭店") and detail["status"] == "dispatched"
    assert [d["kind"] for d in detail["deadlines"]] == ["acceptance"]
    assert detail["events"][0]["action"] == "submitted" and detail["events"][0]["actor_name"] == "消费者"
    assert {e["action"] for e in detail["events"]} >= {"submitted", "dispatched"}
    actions = {a["name"]: a for a in detail["actions"]}
    assert {"accept", "reject", "hand_on", "raise_dispute", "reply", "correct_sector"} <= set(actions)
    assert actions["accept"]["params"] == []
    reason = actions["reject"]["params"][0]
    assert reason["name"] == "reason" and reason["required"] and {"value": "time_barred",
                                                                  "label": "知道或应当知道权益受侵害之日起超过三年"} in reason["choices"]
    bureaus = {c["label"] for c in actions["hand_on"]["params"][0]["choices"]}
    assert "商务局" in bureaus
    assert as_("office").get(f"/api/tickets/{ticket_id}").get_json()["actions"] == []


def test_an_action_through_the_api_changes_the_ticket(client, as_, world):
    ticket_id = file_ticket(world)
    samr = as_("samr_handler")
    accepted = samr.post(f"/api/tickets/{ticket_id}/actions/accept")  # no body, no CSRF token: a token is enough
    assert accepted.status_code == 200, accepted.get_json()
    body = accepted.get_json()
    assert body["message"] == "已受理" and body["ticket"]["status"] == "accepted"
    assert "record_outcome" in {a["name"] for a in body["ticket"]["actions"]}
    done = samr.post(f"/api/tickets/{ticket_id}/actions/record_outcome",
                     json={"outcome": "compensation", "amount": 200.5, "note": "商家赔偿"})
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["ticket"]["outcome_amount"] == "200.50"
    with world.session() as s:
        ticket = s.get(Ticket, ticket_id)
        assert ticket.status == TicketStatus.RESOLVED and ticket.outcome_amount == Decimal("200.50")
    events = samr.get(f"/api/tickets/{ticket_id}").get_json()["events"]
    staff_events = [e for e in events if e["actor_kind"] == "staff"]  # the trail names the staff member
    assert [e["action"] for e in staff_events][:1] == ["accepted"]
    assert all(e["actor_name"] == "samr_handler" and e["actor_bureau_name"] == "市场监管局" for e in staff_events)


def test_wrong_fields_are_400_with_the_field_and_change_nothing(as_, world):
    ticket_id = file_ticket(world)
    samr = as_("samr_handler")
    url = f"/api/tickets/{ticket_id}/actions"
    for name, data, field in [("reject", {"reason": "because"}, "reason"),
                              ("reject", {}, "reason"),
                              ("hand_on", {"to_bureau_id": 999999, "reason": "x"}, "to_bureau_id"),
                              ("hand_on", {"to_bureau_id": "", "reason": "x"}, "to_bureau_id"),
                              ("reply", {"text": ""}, "text"),
                              ("reply", {"text": "好的", "txet": "typo"}, "txet"),
                              ("reply", {"text": ["a", "list"]}, "text"),
                              ("reply", {"text": True}, "text"),
                              ("correct_sector", {"sector": "catering"}, "sector")]:
        response = samr.post(f"{url}/{name}", json=data)
        assert response.status_code == 400, (name, data)
        assert response.get_json()["field"] == field and response.get_json()["error"], (name, data)
    for raw in (b"[1, 2]", b"{not json", b'"text"'):
        response = samr.post(f"{url}/reply", data=raw, content_type="application/json")
        assert response.status_code == 400 and response.get_json() == {"error": "请求体应为 JSON 对象", "field": None}
    with world.session() as s:
        ticket = s.get(Ticket, ticket_id)
        assert ticket.status == TicketStatus.DISPATCHED and ticket.sector_key == "catering"
    # record_outcome's own rule (amount needed for compensation) also names its field
    samr.post(f"{url}/accept")
    missing = samr.post(f"{url}/record_outcome", json={"outcome": "compensation"})
    assert missing.status_code == 400 and missing.get_json() == {"error": "赔偿结果需要填写金额", "field": "amount"}


def test_refused_unknown_and_invisible_actions(as_, world):
    ticket_id = file_ticket(world)
    telecom = file_ticket(world, sector="telecom", description="宽带断网一周，要求退费")
    assert as_("office").post(f"/api/tickets/{ticket_id}/actions/accept").status_code == 403
    assert as_("commerce_handler").post(f"/api/tickets/{ticket_id}/actions/accept").status_code == 403
    samr = as_("samr_handler")
    assert samr.post(f"/api/tickets/{ticket_id}/actions/fly_to_the_moon").status_code == 404
    assert samr.post(f"/api/tickets/{telecom}/actions/accept").status_code == 404
    assert samr.post(f"/api/tickets/{telecom}/actions/fly_to_the_moon").status_code == 404  # no hint either way
    assert as_("admin").post(f"/api/tickets/{ticket_id}/actions/accept").status_code == 404
    with world.session() as s:
        assert s.get(Ticket, ticket_id).status == TicketStatus.DISPATCHED
        assert s.get(Ticket, telecom).status == TicketStatus.DISPATCHED


def test_hand_on_by_bureau_id_and_the_city_office_decides_a_dispute(as_, world):
    ticket_id = file_ticket(world)
    with world.session() as s:
        commerce = s.exec(select(Bureau.id).where(Bureau.name == "商务局")).one()
    samr = as_("samr_handler")
    disputed = samr.post(f"/api/tickets/{ticket_id}/actions/raise_dispute",
                         json={"other_bureau_id": commerce, "reason": "应由商务局处理"})
    assert disputed.status_code == 200 and disputed.get_json()["ticket"]["status"] == "disputed"
    office = as_("office")
    assert [a["name"] for a in office.get(f"/api/tickets/{ticket_id}").get_json()["actions"]] == ["decide_dispute"]
    decided = office.post(f"/api/tickets/{ticket_id}/actions/decide_dispute", json={"bureau_id": str(commerce)})
    assert decided.status_code == 200 and decided.get_json()["ticket"]["handler_bureau_name"] == "商务局"
    # 市场监管局 stays a party and still sees the ticket, now with a masked phone
    assert samr.get(f"/api/tickets/{ticket_id}").get_json()["phone"] == MASKED
    assert as_("commerce_handler").get(f"/api/tickets/{ticket_id}").get_json()["phone"] == PHONE


# -- reference data ---------------------------------------------------------------------------------------------
def test_sectors_bureaus_and_towns(as_, world):
    api = as_("gym")
    sectors = api.get("/api/sectors")
    assert "网络购物".encode() in sectors.data  # UTF-8 as is, not \\u escapes
    items = sectors.get_json()["items"]
    assert len(items) == 17 and items[0]["key"] == "online_shopping" and items[0]["lead_bureau_name"] == "市场监管局"
    assert len(items[0]["co_unit_ids"]) == 3
    bureaus = api.get("/api/bureaus").get_json()["items"]
    assert {"市场监管局", "放心消费办", "市消费投诉受理中心"} <= {b["name"] for b in bureaus}
    assert {t["name"] for t in api.get("/api/towns").get_json()["items"]} >= {"梧桐街道", "凤鸣街道"}


def test_errors_under_api_are_json_and_the_rest_of_the_site_is_untouched(client, as_):
    api = as_("office")
    assert api.get("/api/no-such-thing").status_code == 404
    wrong_method = api.client.delete("/api/tickets", headers=api._headers())
    assert wrong_method.status_code == 405 and wrong_method.get_json()["error"]
    assert "GET" in wrong_method.headers["Allow"]
    assert client.get("/no-such-page").content_type.startswith("text/html")


# -- the OpenAPI document --------------------------------------------------------------------------------------
def _openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def test_the_openapi_document_is_public_lists_every_route_and_validates(client, app):
    from openapi_spec_validator import validate

    response = client.get("/api/openapi.json")
    assert response.status_code == 200 and response.content_type.startswith("application/json")
    doc = response.get_json()
    validate(doc)  # raises on any violation of the OpenAPI 3.1 schema
    assert doc["openapi"].startswith("3.1")
    routes = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("api.")]
    assert len(routes) >= 8
    for rule in routes:
        path = _openapi_path(rule.rule)
        assert path in doc["paths"], path
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            operation = doc["paths"][path].get(method.lower())
            assert operation is not None, (method, path)
            assert operation["responses"], (method, path)
            public = rule.endpoint == "api.openapi_document"
            assert (operation.get("security") == []) is public, path
    documented = {(p, m) for p, ops in doc["paths"].items() for m in ops}
    served = {(_openapi_path(r.rule), m.lower()) for r in routes for m in r.methods - {"HEAD", "OPTIONS"}}
    assert documented == served  # nothing documented that is not served
    assert doc["components"]["securitySchemes"]["bearerAuth"] == {**doc["components"]["securitySchemes"]["bearerAuth"],
                                                                 "type": "http", "scheme": "bearer"}
    assert doc["security"] == [{"bearerAuth": []}]
    action = doc["paths"]["/api/tickets/{ticket_id}/actions/{name}"]["post"]
    names = next(p for p in action["parameters"] if p["name"] == "name")["schema"]["enum"]
    assert names == list(ACTIONS)
    for name, registered in ACTIONS.items():
        schema = doc["components"]["schemas"][f"ActionParams_{name}"]
        assert set(schema["properties"]) == {p.name for p in registered.params}
        assert set(schema["required"]) == {p.name for p in registered.params if p.required}
        assert f"`{name}`" in action["description"]
    assert doc["components"]["schemas"]["ActionParams_reject"]["properties"]["reason"]["enum"][0] == "outside_duties"


def test_real_answers_match_the_documented_schemas(client, as_, world):
    """Every answer the API gives in a short session validates against the document's own response schema."""
    import jsonschema

    doc = client.get("/api/openapi.json").get_json()

    def check(response, path: str, method: str = "get"):
        responses = doc["paths"][path][method]["responses"]
        spec = responses[str(response.status_code)]
        if "$ref" in spec:
            spec = doc["components"]["responses"][spec["$ref"].rsplit("/", 1)[1]]
        schema = {**spec["content"]["application/json"]["schema"], "components": doc["components"]}
        jsonschema.Draft202012Validator(schema).validate(response.get_json())

    ticket_id = file_ticket(world, town_code="330483001", merchant_name="老街面馆", amount=Decimal("200"))
    file_ticket(world, sector="beauty_fitness", merchant_name="鼎盛健身", town_code="330483001")
    samr, office, gym = as_("samr_handler"), as_("office"), as_("gym")
    for api in (samr, office, gym):
        check(api.get("/api/tickets"), "/api/tickets")
        check(api.get("/api/me"), "/api/me")
        for item in api.get("/api/tickets").get_json()["items"]:
            check(api.get(f"/api/tickets/{item['id']}"), "/api/tickets/{ticket_id}")
    check(samr.get("/api/tickets?per_page=500"), "/api/tickets")
    check(samr.get("/api/tickets/999999"), "/api/tickets/{ticket_id}")
    check(client.get("/api/tickets"), "/api/tickets")
    for path in ("/api/sectors", "/api/bureaus", "/api/towns"):
        check(samr.get(path), path)
    action_path = "/api/tickets/{ticket_id}/actions/{name}"
    check(samr.post(f"/api/tickets/{ticket_id}/actions/reject", json={"reason": "x"}), action_path, "post")
    check(office.post(f"/api/tickets/{ticket_id}/actions/accept"), action_path, "post")
    check(samr.post(f"/api/tickets/{ticket_id}/actions/accept"), action_path, "post")
    check(samr.post(f"/api/tickets/{ticket_id}/actions/record_outcome",
                    json={"outcome": "compensation", "amount": "88"}), action_path, "post")


def test_staff_token_command_issues_once_and_revokes(app, db):
    from tests.console_util import make_world

    make_world(db)
    runner = app.test_cli_runner()
    issued = runner.invoke(args=["staff", "token", "samr_handler"])
    assert issued.exit_code == 0
    token = issued.stdout.strip().splitlines()[0]
    client = app.test_client()
    assert client.get("/api/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert runner.invoke(args=["staff", "token", "samr_handler", "--revoke"]).exit_code == 0
    assert client.get("/api/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert runner.invoke(args=["staff", "token", "nobody"]).exit_code != 0
