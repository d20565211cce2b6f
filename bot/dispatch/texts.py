"""What dispatch tells consumers and staff (Chinese, short)."""

DISPATCHED = "您的投诉 {number} 已转交{bureau}办理，{bureau}将在{date}前告知您是否受理。"
TRIAGED = "您的投诉 {number} 已由工作人员分拣，转交{bureau}办理，将在{date}前告知您是否受理。"
DIRECT_SETTLEMENT = ("您的投诉 {number} 已先转给商家「{merchant}」直接和解（12315在线纠纷解决），"
                     "商家应在{answer_date}前答复、{settle_date}前处理完毕；不成的将自动转{bureau}。")
FORWARDED = "商家未能在规定时间内和解，您的投诉 {number} 已自动转交{bureau}办理，将在{date}前告知您是否受理。"
ACCEPTED = "您的投诉 {number} 已被{bureau}受理，将在{date}前完成调解。"
HANDED_ON = "您的投诉 {number} 已由{from_bureau}移交{to_bureau}办理（{from_bureau}继续跟进），将在{date}前告知您是否受理。"
REJECTED = "很抱歉，您的投诉 {number} 未予受理。理由：{reason}。{advice}"
RESOLVED = "您的投诉 {number} 已办结：{outcome}。请回复「满意」或「不满意」评价本次处理。"
REOPENED = "已收到您的评价。投诉 {number} 已重新打开并由放心消费办督办，{bureau}将在{date}前再次处理。"
CLOSED_RATED = "感谢您的评价，投诉 {number} 已结案。"
WITHDRAWN = "您的投诉 {number} 已撤回。"
MERCHANT_OFFER = "商家「{merchant}」对投诉 {number} 提出和解方案：{offer}。回复「接受 {number}」或「拒绝 {number}」。"
COMPENSATION_AGREED = "投诉 {number}：{payer}同意先行赔付 {amount} 元，应在{date}前支付。收到后请回复「已收到 {number}」。"
COMPENSATION_PAID = "投诉 {number}：{payer}表示已先行赔付 {amount} 元，收到后请回复「已收到 {number}」。"
REPLY_FROM_STAFF = "关于投诉 {number}，{bureau}回复：{text}"

STAFF_NEW = "新投诉 {number}（{sector}）待受理，请在{date}前受理、不予受理或移交。"
STAFF_HANDED_ON = "投诉 {number} 由{from_bureau}移交贵单位办理，理由：{reason}。请在{date}前处理。"
STAFF_TRIAGE = "投诉 {number} 需人工分拣，请在{date}前分派。"
STAFF_DISPUTE = "投诉 {number}：{from_bureau}与{to_bureau}对管辖有争议，请放心消费办在{date}前指定办理单位。"
MERCHANT_NEW = "消费者对贵店的投诉 {number} 进入直接和解，请在{answer_date}前答复、{settle_date}前处理完毕。"
MERCHANT_RETURN = "投诉 {number} 的消费者依规享有无理由退货（{rule}），请按规定办理。"
MERCHANT_COMPENSATION = "投诉 {number} 适用贵单位的先行赔付承诺（金额 {amount} 元），请先行赔付后再向供货方追偿。"

# Article 15 of the SAMR measures: reasons a complaint is not accepted
ARTICLE_15 = {
    "outside_duties": "不属于本部门职责范围或管辖",
    "already_handled": "法院、仲裁机构、其他行政机关、消费者协会或依法成立的调解组织已受理或处理",
    "not_consumption": "不是为生活消费需要，或与经营者之间不存在消费者权益争议",
    "time_barred": "知道或应当知道权益受侵害之日起超过三年",
    "missing_information": "未提供投诉人姓名、电话、地址，被投诉人名称、地址，具体诉求和争议事实等必要信息",
    "other_legal_grounds": "法律、法规、规章规定不予受理的其他情形",
}
REJECTION_ADVICE = "如有异议，可通过人民调解、仲裁或向人民法院起诉等途径解决。"

OUTCOMES = {
    "refund": "退款", "replacement": "更换", "repair": "维修", "compensation": "赔偿",
    "apology": "赔礼道歉", "failed": "调解未成功",
}
FAILED_ADVICE = {
    "arbitration": "可向仲裁机构申请仲裁",
    "court": "可向人民法院提起诉讼",
}
