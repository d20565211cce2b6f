"""The OpenAPI 3.1 document of /api/, written by hand except for the actions, which come from the registry.

Each action's parameters become a schema `ActionParams_<name>` (kinds: text/longtext → string, decimal →
amount, choice → enum of the fixed vocabulary, bureau → a bureau id, sector → a sector key), so a new action
in `bot.dispatch.actions.ACTIONS` appears here without anyone editing this file. tests/test_api.py checks
that every route of the blueprint is documented, that the document validates, and that real responses
validate against the schemas below.
"""
from __future__ import annotations

from bot.api.serialize import DEADLINE_NAMES
from bot.core.context import settings
from bot.dispatch.actions import ACTIONS, Action, Param
from models import BureauKind, Role, TicketStatus

NULLABLE_STRING = {"type": ["string", "null"]}
NULLABLE_INT = {"type": ["integer", "null"]}
INSTANT = {"type": "string", "format": "date-time", "description": "ISO 8601, Asia/Shanghai (+08:00)"}
NULLABLE_INSTANT = {"type": ["string", "null"], "format": "date-time", "description": INSTANT["description"]}
MONEY = {"type": ["string", "null"], "pattern": r"^-?\d+\.\d{2}$", "description": "金额（元），两位小数的十进制字符串"}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(properties: dict, required: list[str] | None = None, **extra) -> dict:
    return {"type": "object", "properties": properties,
            "required": list(properties) if required is None else required, **extra}


def _param_schema(param: Param) -> dict:
    if param.kind == "decimal":
        schema = {"type": ["string", "number"], "description": f"{param.label}：大于 0、至多 1 亿的金额，按两位小数计"}
    elif param.kind == "choice":
        keys = [key for key, _ in (param.choices(None) if param.choices else [])]
        labels = "；".join(f"{key}={label}" for key, label in (param.choices(None) if param.choices else []))
        schema = {"type": "string", "enum": keys, "description": f"{param.label}：{labels}"}
    elif param.kind == "bureau":
        schema = {"type": ["integer", "string"], "description": f"{param.label}：单位 id（见 GET /api/bureaus）"}
    elif param.kind == "sector":
        schema = {"type": "string", "maxLength": 40, "description": f"{param.label}：类别 key（见 GET /api/sectors）"}
    else:
        schema = {"type": "string", "maxLength": 2000, "description": param.label}
    if not param.required:
        schema = {**schema, "type": [*([schema["type"]] if isinstance(schema["type"], str) else schema["type"]),
                                     "null"]}
        if "enum" in schema:
            schema["enum"] = [*schema["enum"], None]
    return schema


def action_schema(action: Action) -> dict:
    return {"type": "object", "title": f"{action.name}（{action.label}）",
            "properties": {p.name: _param_schema(p) for p in action.params},
            "required": [p.name for p in action.params if p.required], "additionalProperties": False}


def _actions_table() -> str:
    lines = ["| action | 名称 | 参数（* 为必填） |", "|---|---|---|"]
    for action in ACTIONS.values():
        params = ", ".join(f"{p.name}{'*' if p.required else ''}（{p.label}）" for p in action.params) or "—"
        lines.append(f"| `{action.name}` | {action.label} | {params} |")
    return "\n".join(lines)


def _schemas() -> dict:
    deadline = _obj({
        "kind": {"type": "string", "enum": list(DEADLINE_NAMES)}, "name": {"type": "string"},
        "bureau_id": NULLABLE_INT, "bureau_name": NULLABLE_STRING, "started_at": INSTANT, "due_at": INSTANT,
        "provisional": {"type": "boolean", "description": "该年度节假日尚未公布时为暂定"},
        "met_at": NULLABLE_INSTANT, "level": {"type": "integer", "description": "督办级别"},
        "state": {"type": "string", "enum": ["open", "met", "overdue"]}})
    summary_props = {
        "id": {"type": "integer"}, "number": {"type": "string", "examples": ["TX20261125-0007"]},
        "status": {"type": "string", "enum": [s.value for s in TicketStatus]}, "status_name": {"type": "string"},
        "sector_key": NULLABLE_STRING, "sector_name": NULLABLE_STRING, "town_code": NULLABLE_STRING,
        "town_name": NULLABLE_STRING, "merchant_name": NULLABLE_STRING,
        "merchant_id": {**NULLABLE_INT, "description": "登记在册的商家 id（未匹配时为 null）"},
        "amount": MONEY, "demand": NULLABLE_STRING, "demand_name": NULLABLE_STRING,
        "lead_bureau_id": NULLABLE_INT, "lead_bureau_name": NULLABLE_STRING,
        "handler_bureau_id": NULLABLE_INT, "handler_bureau_name": NULLABLE_STRING,
        "overdue": {"type": "boolean"}, "reopened": {"type": "boolean"}, "return_entitled": {"type": "boolean"},
        "compensation_claim": {"type": "boolean"}, "created_at": INSTANT, "updated_at": INSTANT,
        "next_deadline": {"oneOf": [_ref("Deadline"), {"type": "null"}], "description": "最早的未完成时限"},
    }
    choice = _obj({"value": {"type": "string"}, "label": {"type": "string"}})
    action_param = _obj({"name": {"type": "string"}, "label": {"type": "string"},
                         "kind": {"type": "string",
                                  "enum": ["text", "longtext", "decimal", "choice", "bureau", "sector"]},
                         "required": {"type": "boolean"},
                         "choices": {"type": ["array", "null"], "items": _ref("Choice")}})
    allowed_action = _obj({"name": {"type": "string", "enum": list(ACTIONS)}, "label": {"type": "string"},
                           "params": {"type": "array", "items": _ref("ActionParam")}})
    event = _obj({"id": {"type": "integer"}, "at": INSTANT, "action": {"type": "string"},
                  "actor_kind": {"type": "string", "enum": ["consumer", "staff", "merchant", "system"]},
                  "actor_name": NULLABLE_STRING, "actor_bureau_id": NULLABLE_INT, "actor_bureau_name": NULLABLE_STRING,
                  "from_status": NULLABLE_STRING, "to_status": NULLABLE_STRING, "rule": NULLABLE_STRING,
                  "note": NULLABLE_STRING, "data": {"type": "object", "description": "规则的输入（审计记录）"}})
    message = _obj({"received_at": INSTANT, "msg_type": {"type": "string"}, "content": NULLABLE_STRING})
    attachment = _obj({"id": {"type": "integer"}, "kind": {"type": "string"}, "url": NULLABLE_STRING,
                       "created_at": INSTANT})
    detail_props = {
        **summary_props,
        "description": {"type": "string"},
        "phone": {"type": "string", "description": "仅办理单位的工作人员可见完整号码，其他人为 138****5678 形式"},
        "purchase_date": {"type": ["string", "null"], "format": "date"}, "online": {"type": ["boolean", "null"]},
        "confidence": {"type": ["number", "null"]},
        "classifier_top": {"type": "array", "items": _obj({"sector_key": {"type": "string"},
                                                            "sector_name": NULLABLE_STRING,
                                                            "probability": {"type": "number"}})},
        "consumer_chose_sector": {"type": "boolean"},
        "first_contact_bureau_id": NULLABLE_INT, "first_contact_bureau_name": NULLABLE_STRING,
        "platform_merchant_id": NULLABLE_INT, "return_rule": NULLABLE_STRING, "outcome": NULLABLE_STRING,
        "outcome_name": NULLABLE_STRING, "outcome_amount": MONEY, "outcome_note": NULLABLE_STRING,
        "rejection_reason": NULLABLE_STRING, "rating": NULLABLE_STRING, "accepted_at": NULLABLE_INSTANT,
        "resolved_at": NULLABLE_INSTANT, "closed_at": NULLABLE_INSTANT,
        "deadlines": {"type": "array", "items": _ref("Deadline")},
        "events": {"type": "array", "items": _ref("Event"), "description": "处理经过（只增不改的审计记录）"},
        "messages": {"type": "array", "items": _ref("Message"), "description": "消费者构成投诉的消息"},
        "attachments": {"type": "array", "items": _ref("Attachment")},
        "actions": {"type": "array", "items": _ref("AllowedAction"), "description": "调用者当前可执行的操作"},
    }
    schemas = {
        "Error": _obj({"error": {"type": "string"},
                       "field": {**NULLABLE_STRING, "description": "出错的参数名（如有）"}}, ["error"]),
        "Deadline": deadline,
        "TicketSummary": _obj(summary_props),
        "TicketList": _obj({"items": {"type": "array", "items": _ref("TicketSummary")},
                            "total": {"type": "integer"}, "page": {"type": "integer"},
                            "per_page": {"type": "integer"}, "pages": {"type": "integer"}}),
        "TicketDetail": _obj(detail_props),
        "Event": event, "Message": message, "Attachment": attachment, "Choice": choice,
        "ActionParam": action_param, "AllowedAction": allowed_action,
        "ActionResult": _obj({"message": {"type": "string"},
                              "ticket": {"oneOf": [_ref("TicketDetail"), {"type": "null"}],
                                         "description": "操作后的工单；如操作后调用者已无权查看则为 null"}}),
        "Me": _obj({"id": {"type": "integer"}, "username": {"type": "string"}, "display_name": {"type": "string"},
                    "role": {"type": "string", "enum": [r.value for r in Role]},
                    "bureau_id": NULLABLE_INT, "bureau_name": NULLABLE_STRING,
                    "merchant_id": NULLABLE_INT, "merchant_name": NULLABLE_STRING, "active": {"type": "boolean"}}),
        "Sector": _obj({"key": {"type": "string"}, "ordinal": {"type": "integer"}, "name": {"type": "string"},
                        "lead_bureau_id": {"type": "integer"}, "lead_bureau_name": NULLABLE_STRING,
                        "co_unit_ids": {"type": "array", "items": {"type": "integer"}}}),
        "Bureau": _obj({"id": {"type": "integer"}, "code": {"type": "string"}, "name": {"type": "string"},
                        "kind": {"type": "string", "enum": [k.value for k in BureauKind]},
                        "town_code": NULLABLE_STRING}),
        "Town": _obj({"code": {"type": "string"}, "name": {"type": "string"}, "short_name": {"type": "string"}}),
    }
    for name in ("Sector", "Bureau", "Town"):
        schemas[f"{name}List"] = _obj({"items": {"type": "array", "items": _ref(name)}})
    for action in ACTIONS.values():
        schemas[f"ActionParams_{action.name}"] = action_schema(action)
    return schemas


def _json_content(schema: dict) -> dict:
    return {"application/json": {"schema": schema}}


def _response(description: str, schema_name: str) -> dict:
    return {"description": description, "content": _json_content(_ref(schema_name))}


def _query(name: str, schema: dict, description: str) -> dict:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


TICKET_ID = {"name": "ticket_id", "in": "path", "required": True, "schema": {"type": "integer"},
             "description": "工单 id（列表中的 id，不是单号）"}
ERRORS = {"401": {"$ref": "#/components/responses/Unauthorized"}}


def document() -> dict:
    base_url = settings().public_base_url.rstrip("/")
    statuses = [s.value for s in TicketStatus]
    paths = {
        "/api/tickets": {"get": {
            "operationId": "listTickets", "tags": ["tickets"], "summary": "工单列表（仅调用者可见的工单）",
            "description": "与控制台的工单列表同一规则：经办、牵头、协办、首接单位及分拣中心看本单位相关工单，"
                           "放心消费办看全部，商家看涉及本商家的商家和解或先行赔付工单，管理员看不到工单。"
                           "排序：超期在前，然后按提交时间从新到旧。",
            "parameters": [
                _query("status", {"type": "string", "enum": [*statuses, "open"]}, "状态；open 为所有未办结状态"),
                _query("sector", {"type": "string"}, "类别 key（见 /api/sectors）"),
                _query("town", {"type": "string"}, "镇街代码（见 /api/towns）"),
                _query("overdue", {"type": "string", "enum": ["1", "0", "true", "false"]}, "是否超期"),
                _query("from", {"type": "string", "format": "date"}, "提交日期起（含，上海时间）"),
                _query("to", {"type": "string", "format": "date"}, "提交日期止（含，上海时间）"),
                _query("page", {"type": "integer", "minimum": 1, "default": 1}, "页码"),
                _query("per_page", {"type": "integer", "minimum": 1, "maximum": 100, "default": 25}, "每页条数"),
            ],
            "responses": {"200": _response("一页工单与总数", "TicketList"),
                          "400": {"$ref": "#/components/responses/BadRequest"}, **ERRORS},
        }},
        "/api/tickets/{ticket_id}": {"get": {
            "operationId": "getTicket", "tags": ["tickets"], "summary": "工单详情：信息、时限、处理经过、可执行操作",
            "parameters": [TICKET_ID],
            "responses": {"200": _response("工单详情", "TicketDetail"),
                          "404": {"$ref": "#/components/responses/NotFound"}, **ERRORS},
        }},
        "/api/tickets/{ticket_id}/actions/{name}": {"post": {
            "operationId": "performAction", "tags": ["tickets"], "summary": "对工单执行一项操作",
            "description": "与控制台相同的操作与校验。请求体为该操作参数组成的 JSON 对象（无参数的操作可省略请求体）；"
                           "未知参数或类型错误返回 400。可执行的操作及其选项见工单详情的 `actions`。\n\n"
                           + _actions_table(),
            "parameters": [TICKET_ID, {"name": "name", "in": "path", "required": True,
                                       "schema": {"type": "string", "enum": list(ACTIONS)}, "description": "操作名"}],
            "requestBody": {"required": False, "description": "操作参数，按操作名取对应的 ActionParams_<name>",
                            "content": _json_content({"anyOf": [_ref(f"ActionParams_{n}") for n in ACTIONS]})},
            "responses": {
                "200": _response("已执行；message 为结果说明", "ActionResult"),
                "400": {"$ref": "#/components/responses/BadRequest"},
                "403": {"$ref": "#/components/responses/Forbidden"},
                "404": {"$ref": "#/components/responses/NotFound"}, **ERRORS},
        }},
        "/api/me": {"get": {"operationId": "getMe", "tags": ["reference"], "summary": "令牌所属的工作人员账号",
                            "responses": {"200": _response("当前账号", "Me"), **ERRORS}}},
        "/api/sectors": {"get": {"operationId": "listSectors", "tags": ["reference"], "summary": "17 个消费领域及牵头、协办单位",
                                 "responses": {"200": _response("类别", "SectorList"), **ERRORS}}},
        "/api/bureaus": {"get": {"operationId": "listBureaus", "tags": ["reference"], "summary": "单位",
                                 "responses": {"200": _response("单位", "BureauList"), **ERRORS}}},
        "/api/towns": {"get": {"operationId": "listTowns", "tags": ["reference"], "summary": "镇（街道）",
                               "responses": {"200": _response("镇街", "TownList"), **ERRORS}}},
        "/api/openapi.json": {"get": {"operationId": "getOpenAPI", "tags": ["meta"], "summary": "本文档（无需令牌）",
                                      "security": [],
                                      "responses": {"200": {"description": "OpenAPI 3.1 文档",
                                                            "content": _json_content({"type": "object"})}}}},
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "放心消费 fangxin API", "version": "1.0.0",
                 "description": "各单位系统对接用的工单接口。令牌由管理员以 `flask --app bot staff token USERNAME` 签发，"
                                "只显示一次；请求头 `Authorization: Bearer <token>`。权限与控制台一致。"
                                "时间为上海时间的 ISO 8601，金额为两位小数的字符串。"},
        "servers": [{"url": base_url or "/"}],
        "security": [{"bearerAuth": []}],
        "tags": [{"name": "tickets", "description": "工单"}, {"name": "reference", "description": "账号与基础数据"},
                 {"name": "meta", "description": "接口说明"}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer",
                                               "description": "每个工作人员一个令牌；服务端只保存其 SHA-256 摘要"}},
            "schemas": _schemas(),
            "responses": {
                "BadRequest": _response("参数错误；field 为出错的参数名", "Error"),
                "Unauthorized": {"description": "缺少令牌、令牌无效或账号已停用",
                                 "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}},
                                 "content": _json_content(_ref("Error"))},
                "Forbidden": _response("当前状态下调用者不能执行此操作", "Error"),
                "NotFound": _response("工单不存在或调用者无权查看（两者不作区分）", "Error"),
            },
        },
    }
