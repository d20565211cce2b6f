"""Everything the bot says to consumers, in one place (Chinese; short and friendly)."""

WELCOME = (
    "您好，这里是桐乡放心消费投诉服务 👋\n"
    "遇到消费纠纷，直接用文字或语音描述经过即可，例如：\n"
    "“乌镇XX饭店吃饭被多收了200元，要求退款”\n"
    "我们会帮您转给负责的部门，并给您一个投诉单号。\n"
    "回复「查询」查看投诉进度，「帮助」查看全部功能。"
)
WELCOME_BACK = "欢迎回来！直接描述您遇到的消费问题即可投诉，回复「查询」查看进度。"

HELP = (
    "可以这样使用：\n"
    "· 直接描述消费纠纷 → 填写投诉（可发图片、视频、位置作证据）\n"
    "· 查询 → 我的投诉列表；查询 单号 → 进度详情\n"
    "· 补充 单号 内容 → 给投诉补充说明或图片\n"
    "· 撤回 单号 → 撤回投诉\n"
    "· 人工 → 转人工服务\n"
    "· 回答问题时可回复「跳过」（选填项）或「取消」放弃本次填写"
)
HUMAN = "已为您转人工，工作人员会尽快在本公众号回复您（工作日 8:30-17:00）。您也可以继续描述问题。"
UNSUPPORTED = "抱歉，暂时无法处理这类消息。请用文字、语音、图片或位置描述您的问题，回复「帮助」查看用法。"
VOICE_UNRECOGNISED = "抱歉，没能听清这段语音，请再说一遍或改用文字描述。"
NOT_A_COMPLAINT = "您好！如需投诉消费纠纷，请直接描述经过（在哪里、哪个商家、发生了什么、您的诉求）。回复「帮助」查看更多用法。"
# a message the classifier reads as not a complaint, answered by its kind (when no FAQ answer matches);
# each ends by saying how to complain, in case the consumer did mean a complaint
NOT_A_COMPLAINT_BY_KIND = {
    "followup": "如需查看已提交投诉的进度，请回复「查询」或「查询 单号」；补充情况或证据请回复「补充 单号 内容」，"
                "撤回请回复「撤回 单号」。如果是一件新的消费纠纷，请直接描述经过。",
    "work": "工资、工伤等劳动争议不属于消费投诉，请拨打劳动保障监察热线 12333 或到市人力社保局咨询；"
            "商户之间的合同纠纷可协商、申请仲裁或起诉。如果您是以消费者身份投诉商家，请直接描述经过。",
    "outside": "这类问题不属于消费投诉：医疗纠纷可找卫生健康局或医疗纠纷人民调解委员会，邻里纠纷可找所在社区（村）调解，"
               "被骗、被盗请拨打 110（反诈专线 96110）。如果是向商家买东西或接受服务时的纠纷，请直接描述经过。",
    "praise": "感谢您的分享！商家的好做法我们会记下。今后遇到消费纠纷，直接在这里描述经过就可以投诉。",
    "ad": "本公众号只受理消费投诉，不发布广告、招聘或转让信息。遇到消费纠纷请直接描述经过。",
}
CANCELLED = "已取消本次填写。需要时随时再描述您的问题。"
NOTHING_TO_CANCEL = "当前没有正在填写的投诉。"

START = "收到，这是一起「{sector}」方面的投诉，由{bureau}牵头办理。接下来问您几个问题，很快就好。"
MAYBE_COMPLAINT = ("这条消息看起来不太像消费投诉。如果您是要投诉，请回复数字选择类别：\n{options}\n"
                   "不是投诉的话，忽略本条、直接说别的就好。")
START_UNSURE = "收到您的投诉。为了转给正确的部门，请问问题属于哪一类？回复数字：\n{options}"
OTHER_OPTION = "其他（由工作人员分拣）"
CHOICE_INVALID = "请回复列表中的数字（1-{n}）。"
SECTOR_CHOSEN = "好的，按「{sector}」处理。"
TRIAGE_CHOSEN = "好的，提交后将由工作人员人工分拣。"

QUESTIONS = {
    "merchant": "是哪家商家？请回复店名、平台或公司名称。",
    "town": "在哪个镇（街道）消费的？例如“乌镇”“梧桐街道”，也可以直接发送位置。网购可回复「跳过」。",
    "purchase_date": "大概什么时候买的或发生的？例如“昨天”“上周三”“11月3号”，不记得可回复「跳过」。",
    "amount": "涉及金额是多少？例如“268元”“两千八”，没有可回复「跳过」。",
    "demand": "您希望怎么解决？回复数字：\n1 退款  2 退货  3 换货  4 维修\n5 赔偿  6 道歉  7 其他",
    "phone": "请留一个手机号，便于办理部门联系您。\n（手机号仅用于处理本次投诉，不会提供给无关第三方。）",
}
FIELD_NAMES = {"merchant": "商家", "town": "地点", "purchase_date": "时间", "amount": "金额", "demand": "诉求",
               "phone": "电话", "sector": "类别", "description": "情况说明"}
EDITABLE = ("sector", "merchant", "town", "purchase_date", "amount", "demand", "phone", "description")
REQUIRED_HINT = "这一项是受理投诉所必需的（《市场监督管理投诉举报处理暂行办法》第九条），请填写。"
NOT_UNDERSTOOD = {
    "merchant": "请回复商家名称，例如“XX超市”“拼多多”。",
    "town": "没能识别镇（街道）。请回复镇街名称（如“濮院”“高桥”），或发送位置；也可回复「跳过」。",
    "purchase_date": "没能识别日期，请回复如“昨天”“11月3号”，或回复「跳过」。",
    "amount": "没能识别金额，请回复如“268元”“两千八”，或回复「跳过」。",
    "demand": "请回复 1-7 中的数字，或直接写“退款”“维修”等。",
    "phone": "请回复11位手机号码，例如 13812345678。",
    "description": "请回复新的情况说明。",
}
OUTSIDE_CITY = "这个位置不在桐乡市范围内。请回复消费发生的镇（街道），或回复「跳过」。"
LOCATION_NOTED = "已记录位置：{town}。"
LOCATION_NOTED_IDLE = "已记录位置：{town}。请描述您遇到的消费问题。"
ATTACHED = "已收到{kind}，将作为证据附在投诉中（共{count}份）。"
ATTACHED_IDLE = "已收到{kind}。请用文字描述遇到的问题，{kind}会作为证据附在投诉中。"
KIND_NAMES = {"image": "图片", "video": "视频", "shortvideo": "视频"}

DEMANDS = {"1": "refund", "2": "return", "3": "exchange", "4": "repair", "5": "compensation", "6": "apology",
           "7": "other"}
DEMAND_NAMES = {"refund": "退款", "return": "退货", "exchange": "换货", "repair": "维修", "compensation": "赔偿",
                "apology": "道歉", "other": "其他"}

SUMMARY_HEAD = "请核对您的投诉："
SUMMARY_TAIL = "信息无误请回复「确认」提交；需要更改请回复「修改」。"
SUMMARY_ROUTE_BUREAU = "办理：{bureau}（牵头），{date}前告知是否受理"
SUMMARY_ROUTE_TRIAGE = "办理：市消费投诉受理中心人工分拣后转交主管部门"
SUMMARY_ROUTE_DIRECT = "办理：先由商家直接和解（12315在线纠纷解决，10个工作日），不成自动转{bureau}"
RIGHT_ONLINE_RETURN = "【您的权利】网购商品自收货之日起7日内可无理由退货（《消费者权益保护法》第二十五条），截至{date}。"
RIGHT_OFFLINE_RETURN = "【您的权利】该商家承诺线下购物{days}天无理由退货，截至{date}。"
RIGHT_COMPENSATION = "【您的权利】{payer}承诺先行赔付{cap}，将先行赔付您的损失，再向供货方追偿。"
RIGHT_COMPENSATION_OVER_CAP = "提示：{payer}的先行赔付限额为{cap}元，本次金额超过限额，将按一般程序处理。"
CONFIRM_PROMPT = "请回复「确认」提交，或回复「修改」更改某一项。"
EDIT_MENU = "要修改哪一项？回复数字：\n{options}"
SUBMITTED = "✅ 投诉已提交！单号：{number}\n{route}\n回复「查询 {number}」随时查看进度。"
SUBMITTED_ROUTE_BUREAU = "已转交{bureau}，将在{date}前告知您是否受理。"
SUBMITTED_ROUTE_TRIAGE = "工作人员将在1个工作日内分派，{date}前告知您是否受理。"
SUBMITTED_ROUTE_DIRECT = "已先转商家「{merchant}」直接和解，商家应在{date}前答复；不成将自动转{bureau}。"

RESUME = "您有一份{minutes}分钟前未填完的投诉（{preview}）。回复「继续」接着填写，回复「重新开始」放弃它。"
RESUME_INVALID = "请回复「继续」或「重新开始」。"
RESTARTED = "已放弃之前的草稿。请描述您遇到的问题。"

NO_TICKETS = "您还没有提交过投诉。直接描述您遇到的问题即可投诉。"
TICKET_LIST_HEAD = "您的投诉（最近{n}条）："
TICKET_LIST_ROW = "{number}｜{sector}｜{status}｜{date}"
TICKET_LIST_TAIL = "回复「查询 单号」查看详情。"
TICKET_NOT_FOUND = "没有找到您名下的投诉 {number}，请核对单号。"
TICKET_DETAIL = "投诉 {number}\n类别：{sector}\n状态：{status}\n办理单位：{bureau}\n{deadline}进度：\n{timeline}"
DEADLINE_LINE = "办理时限：{what}{date}\n"
STATUS_NAMES = {"triage": "待分拣", "direct_settlement": "商家和解中", "dispatched": "待受理", "accepted": "已受理，调解中",
                "disputed": "管辖协调中", "resolved": "已办结，待评价", "rejected": "不予受理", "withdrawn": "已撤回",
                "closed": "已结案"}
EVENT_NAMES = {"submitted": "提交投诉", "routed_to_triage": "进入人工分拣", "triaged": "完成分拣",
               "dispatched": "转交{bureau}", "direct_settlement_started": "转商家直接和解",
               "merchant_offer": "商家提出和解方案", "settled_directly": "与商家和解成功",
               "direct_settlement_failed": "直接和解未成，转主管部门", "accepted": "已受理",
               "rejected": "不予受理", "handed_on": "移交{to}", "jurisdiction_disputed": "管辖协调",
               "jurisdiction_decided": "指定{bureau}办理", "resolved": "办结", "rated": "评价",
               "reopened_for_supervision": "重新打开督办", "closed_without_rating": "结案（未评价）",
               "withdrawn": "撤回", "supplemented": "补充材料", "replied_to_consumer": "部门回复",
               "compensation_agreed": "商家同意先行赔付", "compensation_paid": "商家已先行赔付",
               "compensation_received": "确认收到赔付", "escalated": "督办"}

SUPPLEMENT_WAITING = "请发送要补充到投诉 {number} 的文字或图片。"
SUPPLEMENTED = "已补充到投诉 {number}，办理部门会看到。"
SUPPLEMENT_CLOSED = "投诉 {number} 已结束，无法补充。如有新问题请重新投诉。"
WITHDRAW_CONFIRM = "确定要撤回投诉 {number} 吗？撤回后将停止办理。回复「确认撤回」撤回，回复其他内容取消。"
WITHDRAW_KEPT = "好的，投诉 {number} 继续办理。"
WITHDRAW_IMPOSSIBLE = "投诉 {number} 当前状态为「{status}」，无法撤回。"
NOTHING_TO_RATE = "您目前没有待评价的投诉。"
OFFER_ACCEPTED = "您已接受商家的和解方案，投诉 {number} 办结。请回复「满意」或「不满意」评价本次处理。"
OFFER_REJECTED = "您拒绝了商家的方案，投诉 {number} 已转交主管部门办理。"
NO_OFFER = "投诉 {number} 目前没有待您答复的商家方案。"
RECEIPT_CONFIRMED = "已确认收到先行赔付，感谢您的反馈（投诉 {number}）。"
NO_CLAIM = "投诉 {number} 没有先行赔付事项。"
NEED_NUMBER = "请在指令后附上投诉单号，例如「{command} TX20261125-0007」。"

GREETING_WORDS = ("你好", "您好", "在吗", "在不在", "hello", "hi")
FAQ = [
    (("怎么投诉", "如何投诉", "怎样投诉", "投诉流程", "在哪投诉", "怎么反映"),
     "直接在这里描述经过就可以投诉：哪个商家、在哪、什么时候、发生了什么、您希望怎么解决。我们会转给负责的部门。"),
    (("需要什么材料", "要什么材料", "准备什么", "需要哪些"),
     "投诉需要：您的手机号、商家名称和地址、具体诉求和争议经过；购物小票、聊天记录、照片等证据可以直接发图片。"),
    (("七天无理由", "7天无理由", "无理由退货"),
     "网购（含直播、电视、电话购物）商品自收货之日起7日内可无理由退货，定制、鲜活易腐、数字化商品等除外；"
     "部分实体店也承诺了线下无理由退货。遇到拒绝退货可以直接投诉。"),
    (("先行赔付",),
     "先行赔付是指承诺的商家或平台先赔偿消费者，再向责任方追偿。投诉时我们会自动判断商家是否作过承诺。"),
    (("12315", "12345", "电话多少", "热线"),
     "全国消费投诉热线 12315，政务服务热线 12345；在本公众号描述问题同样可以投诉，并能随时查询进度。"),
    (("上班时间", "几点上班", "工作时间", "周末上班"),
     "本公众号24小时受理投诉；工作人员办理时间为工作日 8:30-17:00，节假日顺延。"),
    (("多久", "几天", "什么时候有结果", "时限"),
     "部门应在收到投诉后7个工作日内决定是否受理，受理后45个工作日内完成调解；回复「查询」可看每件投诉的时限。"),
    (("匿名",), "投诉需要留下手机号以便联系，您的信息仅用于办理本次投诉，不会提供给无关第三方。"),
    (("进度", "怎么样了", "处理了吗", "有结果了吗", "处理得怎么样", "受理了吗", "到哪一步"),
     "回复「查询」查看您的投诉列表和进度，或「查询 单号」查看详情。"),
    (("谢谢", "感谢", "多谢", "辛苦了"), "不客气！有需要随时找我们。"),
    (GREETING_WORDS, "您好！请直接描述您遇到的消费问题，我来帮您投诉。"),
]
