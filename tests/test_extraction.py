"""Facts from a message: every numeral form, phones, towns (old names, landmarks), relative dates."""
from __future__ import annotations

from datetime import date, datetime

import pytest

from bot.classifier.extraction import (
    chinese_to_number,
    extract,
    extract_amount,
    extract_date,
    extract_demand,
    extract_merchant,
    extract_online,
    extract_phone,
    extract_town,
)
from bot.core import clock


@pytest.mark.parametrize("text, value", [
    ("一", 1), ("十", 10), ("十九", 19), ("二十", 20), ("一百二十八", 128), ("两千八", 2800), ("一千五", 1500),
    ("一千五百", 1500), ("两万五", 25000), ("一万二", 12000), ("一百零八", 108), ("三千零五十", 3050),
    ("两百", 200), ("一千九百八", 1980), ("1万2", 12000), ("十二万", 120000), ("三十万", 300000),
    # spoken short: the digits fill the places below the unit; a doubled digit after 千 is a price point
    ("一百六九", 169), ("三千九八", 3980), ("两千六八八", 2688), ("一千九九", 1999), ("三千八八", 3888),
])
def test_chinese_numerals(text, value):
    assert chinese_to_number(text) == value


@pytest.mark.parametrize("text, amount", [
    ("花了2800元", 2800), ("付了2800", 2800), ("¥2800 买的", 2800), ("￥99.9", 99.9), ("2800块", 2800),
    ("两千八", 2800), ("两千八百块", 2800), ("2.8k", 2800), ("2.8K的课", 2800), ("3k", 3000), ("2.8千", 2800),
    ("1.2万", 12000), ("1万2", 12000), ("一万二", 12000), ("三百多", 300), ("一百多块", 100), ("十几块钱", 10),
    ("二十几块", 20), ("12块5", 12.5), ("十二块五", 12.5), ("一块五一度", 1.5), ("五毛", 0.5), ("八毛钱", 0.8),
    ("一百二十八元", 128), ("三十五一瓶", 35), ("六百一只", 600), ("一百零八两桶", 108), ("1万6千", 16000),
    ("交了5400只退回来一点", 5400), ("4299啊", 4299), ("押金两百一直不退", 200), ("收了我六十三", 63),
    ("一箱79，三箱两百三十七", 237), ("标价89，结账收了129", 129), ("本来二十块，收了我六十三", 63),
    ("说补偿5块让我别闹，我要求退一百九十九", 199), ("199装机费交了", 199),
    # a count of items after the price, and a jiao digit that is really "one <item>"
    ("两百九十八三盒", 298), ("十块一包 店家不认", 10), ("六十块一床，盖了浑身痒", 60), ("二十块钱一下子就没了", 20),
    ("一块一块拼起来的 一份一百九十八", 198), ("死了七八只 兔粮一袋一百二十块", 120),
    # the sum for the whole purchase after a quantity beats the price per item; 一共 beats both
    ("一百六十八一位 两个人三百三十六", 336), ("每人一百 两个人两百", 200), ("六个人 八十八一位", 88),
    ("一盒六个 三十块 一共三百", 300),
    # several sums: the largest that is neither a reference price, an offer nor an upsell
    ("点菜的时候根本没说 四百多的餐 多收了四十多", 400), ("团购价九十八 到店要补一百二才给首席剪", 98),
    ("修车要六千八 保险只给赔三千", 6800),
    ("在咖啡馆办的储值卡 充了一千送两百 现在店关门了 卡里还剩八百多", 800),
    ("两千八一吨", 2800), ("三千八一桌，吃完回家全家人都吐", 3800), ("399三盒 贴完皮肤全起泡", 399), ("四十五蚊。", 45),
    ("直播间 99元3桶的调和油", 99), ("一百块三百个币", 100), ("9块9包邮的十斤大米", 9.9), ("三百八一副", 380),
    # formal letters and receipts: 大写 numerals, thousands separators, full-width digits, codes beside the sum
    ("交费人民币叁仟贰佰元整", 3200), ("预交一学期费用人民币壹万零陆佰元整", 10600), ("押金伍佰元", 500),
    ("实付1,899元", 1899), ("支付人民币11,480元", 11480), ("另产生费用2,143.60元", 2143.6), ("价格１，２８０元", 1280),
    ("共计２６４元", 264), ("订单号 114-3928471-5521903，支付¥968.00", 968), ("货号NYF-2208，售价899元", 899),
    ("Order No. HQ-2310-55820 支付人民币7,188元", 7188), ("订单号DD20240402-7731K，金额￥399.00", 399),
    ("运单号 4812 3390 21，额外收取386元", 386), ("至今尚余1,520元未消费", 1520),
    # "not a cent" after a sum (its 一 is not a digit), a bare sum then what happened to it, a price before 的
    ("订金六百一分不退", 600), ("团费两千三一分钱都没退", 2300), ("年卡1880办的", 1880), ("498退不了", 498),
    ("买了个八十九的充电宝", 89), ("退的是一双四百五的皮鞋", 450),
    # a price per item said without a unit, a jiao before 包邮, a count after the sum, power and resolution
    ("奶酪九十九一块", 99), ("按摩一百六十八一小时", 168), ("七块九包邮的五斤苹果", 7.9), ("口罩29块9一百只", 29.9),
    ("4K电视 说好包安装 付了两千九", 2900), ("3千瓦的热水器 付了一千二", 1200),
    # a threshold or a discount is not the sum paid; a reading is not money; 十一 before a count is a number
    ("参加满2000减400活动 原价合计2,380元 结账不给减", 2380), ("充值满三百送五十 送的只能周末用", 300),
    ("这台电视说是4K的 回家一看是1080p 花了四千三", 4300), ("宽带年费一千零八十一年", 1080),
    ("血糖仪不准 328 不给退", 328),
    # the thing bought named right before a bare price
    ("游戏里的月卡三十说停服就停服", 30), ("说好包月200随便玩", 200), ("刚充的648礼包没到账", 648),
    # a rough sum of ten thousands, a bare price after 扣了我 or a spaced cue, 几 as "and some"
    ("维修基金被花了三十几万", 300000), ("卷走了二十多万", 200000), ("扣了我三十多", 30), ("多收了 二十多", 20),
    ("每个月多扣了一百二十几，这叫免息？", 120), ("全款680预付的", 680),
    # a verb that takes only money makes 十块 yuan even before a noun
    ("收了十块工本费", 10), ("刷了两次一次扣了八块司机说是机器问题", 8), ("平台扣了我六块取消费", 6),
    # a count in 两, a fee after a price in jiao, a flash sale, 百 after digits, a monthly rent, 回来 after a sum
    ("39.9两瓶", 39.9), ("699两晚含早", 699), ("要付9.9邮费", 9.9), ("直播间29.9秒杀 到手是化纤的", 29.9),
    ("五常米2百块是假的", 200), ("每月扣了五十八月租", 58), ("买了五件一共一千五回来就起球", 1500), ("湾仔码头的 四十多一袋", 40),
    ("住院花了两万多 百万医疗险不赔", 20000),
    # a quote is what the merchant asked, not what was paid; 元 inside 三元催化 is no yuan
    ("配钥匙报价一千六 我已经付了定金五百 现在不想配了他不退", 500), ("说三元催化堵了 报价四千六 我就同意了", 4600),
    # a price "each" times the number bought is what was paid; a price "a bottle" stays the price named
    ("门票每张60元，共购买两张", 120), ("购买艾草青团12只（每只4元），次日发现变质", 48),
    ("买了两张脱口秀的票，每张二百八，临时换人", 560), ("打包盒饭2份，每份15元", 30),
    ("亚麻籽油一瓶九十九 买了三瓶", 99), ("每张380元，一共付了760元", 760),
    # what is left on a card when the shop closes: 剩下的 / 没用的 right before the sum
    ("储值卡 充三千打九折 现在专柜撤了 剩下的一千七没人管", 1700), ("办了一张一万的卡 我想要回卡里没用的七千多", 7000),
    ("打样剩下的样衣，一百块三件，我挑了六件花了两百", 200),
    ("蚕丝被八百八一床 回家发现夹了棉花", 880), ("DHL包裹（Waybill 4812 3390 21）被要求额外支付人民币386元", 386),
    ("说公积金缴满一年就能贷二十万 交了三千的服务费 结果说我资质不够", 3000),
    # a price that changed (变成 / 说成) is money, not pieces; a digit before 定金 is part of the sum;
    # thousands separators after a Chinese comma; 五万三年定期 is 50000 for three years
    ("价签四十九块九 拿到收银那里变成六十九块九", 69.9), ("把一盒二十几块的药说成七十几块", 70),
    ("我交了一千九定金 就一张手写收条", 1900), ("开班一周即停办，2,400元托管费至今未退", 2400),
    ("在银行存了五万三年定期 说好的贴息没有", 50000),
    ("上礼拜还卖二十三，今天去买变成三十九了", 39), ("套餐每个月从58变成了128他一个老人家", 128),
    # what the harm cost afterwards (a doctor, a locksmith, a taxi, a loss) gives way to the price paid
    ("烤鱼里吃出钢丝 去医院拍片花了五百多 那条鱼一百三十八", 138), ("门票八十块 孩子摔伤 医药费花了一千二", 80),
    ("做了个一百二的面膜 脸肿了 花了三百多的医药费", 120), ("花艺课学费六百八 课没上成 损失了一千多的订单", 680),
    ("约车扣了我三十的取消费 我们临时打车 一路上多花了八十多", 30),
    ("住院花了两万多 保险公司说既往症不赔 每年交两千四", 20000),
    # a grade, a card, a size or a reading next to a price
    ("号称316不锈钢的锅 说是316 测出来是201 锅二百九十八", 298), ("网吧说是3080显卡 实际1060 一小时收十二块", 12),
    ("拍的42码 来的是40 鞋子三百九", 390), ("额温枪量谁都是36.5 药房买的八十九", 89),
    # a settlement the consumer refuses (就赔五块 / 退二十块钱完事) is an offer, not the price
    ("床一百一十九 商家就赔我十块钱", 119), ("充电器六十九 商家说退二十块钱完事", 69),
    # more of the aftermath: a clinic, a towing, a test, the money spent again elsewhere
    ("买的保健枕三百八 睡了落枕 去诊所推拿花了一百五", 380),
    ("4S店保养收了我六百八 开出去就抛锚 拖车费花了五百 后来别家修又花了一千二", 680),
    ("羊绒衫一件六百八 拿去检测费花了两百 含量只有三成", 680),
    # a brand counter's or a mall's price is a reference; 算我 is what was charged for the lot
    ("网店买的精华六百五 专柜要一千一", 650), ("买了五箱 一箱九十五 老板说算我四百五", 450),
    # the size of a loan is not what was paid; a phone's remaining credit is not in dispute
    ("办了30万的经营贷 中介收了我一万二服务费", 12000), ("每月扣15元 扣了6个月一共90元 话费里还剩三十几块", 90),
    # a deposit kept is the sum at stake; when the part kept is named, that part
    ("露营地一晚五百八 押金两百 走的时候押金一分都不退", 200), ("租电瓶车押金三百 还车说有划痕扣了一百", 100),
    ("年卡一千九 手环押金一百 店转让了说年卡不退钱 押金可以退", 1900),
    # a one-character reference cue (才) counts only right before the sum; 加起来 is a total
    ("会员每月自动扣我25 连扣了五个月我才发现 一共125", 125), ("消费了1399和88两笔 加起来1487 月付额度一共5000", 1487),
    # what is demanded on top (需要支付, 另加, 要涨到) gives way to what was paid; 今天只要 is the sale price
    ("套餐199元/月 扣了两个月共398元 营业厅称需要支付违约金600元", 398), ("物业费每年2680 还说明年要涨到3000多", 2680),
    ("纹眉1280 洗掉要另加800", 1280), ("原价599今天只要199", 199),
    # 包括 is no bag; a wage is no price; things counted by the ten thousand are no yuan
    ("露营地一晚四百八十八包括烧烤", 488), ("我们工资就四千多 饭卡每个月扣三百五", 350),
    ("我在厂里上班一个月四千 大衣两千九百八", 2980), ("订了2万株草莓苗 合同价1.2万", 12000), ("报的云南游1.2万两个人", 12000),
    ("寄件付了20块 后来去别家又寄了一次花了18", 20),
    # 廿 and 卅; a deposit or 定金 kept wins, or the part of it kept; a balance however it is said
    ("买的电热毯一百廿块 三天就不热了", 120), ("交了一万块定金 婚期推迟 说要扣掉三千块违约金", 3000),
    ("沙发总价九千八 定金交了一千 我不要了 店里说定金不退", 1000),
    ("预售付了定金一百 尾款五百九十九 总共六百九十九 客服说定金不退", 699),
    ("洗车卡充了一千送三百 现在卡里780 店换老板了", 780), ("购物卡还有860没用完 当初充的两千 店关门了", 860),
    # damages the consumer demands, or a tout's price, give way to the price paid
    ("除草剂自己花了300买的 庄稼全死了 我要他赔三千", 300), ("饼干价格12.5元 无中文标签 要求商家赔偿1000元", 12.5),
    ("音乐节的票四百八十块 去不了 黄牛那边都炒到一千多", 480),
    ("牛肉干三十八块钱 过期了 我说按法律是要赔一千的", 38),
    # an offer said again is still the offer; a 月供 and a loan's principal are not paid or kept
    ("月饼礼盒一百六十八 长毛了 他们就说给我退二十块钱", 168), ("房贷月供4,216元 每月额外扣收管理费15元 已累计扣收120元", 120),
    ("提前还房贷 剩余本金三十万的百分之二 违约金六千块", 6000), ("预存600送手机 每个月返50话费 返了三个月就不返了", 600),
    ("工资一个月六千以上 我交了四千五的培训费", 4500), ("吊牌价899 说一折 89拿的", 89),
    ("网店买的四件套三百九十九 实体店卖六百多", 399),
    # the part of a deposit kept, even after a total; the doctor after a count of stitches
    ("租金共计600元 另付押金3000元 还车后扣除押金1500元", 1500), ("支付定金1500元 仅退还定金900元 扣留600元", 600),
    ("去医院缝了三针花了七百多 我上车就扫码付了二十三块", 23), ("洗车三十块 后视镜弄坏了 我去4S店修花了一千二", 30),
    # a 定金 named before or after its sum, kept (拒绝退还定金), wins over the price agreed; 每月9.9 is a price
    ("合同总价28600元 当日支付定金5000元 门店拒绝退还定金", 5000), ("交了两百块钱的定金 他们说定金不退 总价是六百八", 200),
    ("自动续费什么会员权益包 每月9.9 扣了半年才发现", 9.9),
    # 一千二一幅 (幅 counts the item); 2.8k after 号; 600多，; the doctor's bill, a car repair after the harm
    ("名家字画 一千二一幅 我拿了一幅", 1200), ("买了个游戏账号2.8k 原号主找回了", 2800),
    ("衣服买成600多，我要他们赔1000 他们只肯按运费赔12块", 600),
    ("车泡了 修车花了8600 物业说最多给500慰问金 物业费我一年2600", 2600),
    # a deposit kept wins over the total agreed unless the rest was paid; what a seller dunns for is owed
    ("付了定金五百 一千棵一共三千块 到现在苗也没有 定金也不退", 500),
    ("他说总共是两千四 我先付了一千 现在他天天催我要剩下的一千四", 2400),
    # a card's balance said as 剩余本金, 余下的, 里向还有; a price 外头 is a reference
    ("储值卡充值伍仟元 卡内剩余本金3260元 新店主拒绝承认", 3260), ("店关门了 卡里余下的钞票是两千五百多", 2500),
    ("卡里向还有一千七百块 当初充了三千", 1700), ("讲好五千八 伊拉讲外头店里要卖一万多", 5800),
    # 存了 is paid in; 九十八嗯 ends a clause; 今朝只要; a balance spaced out by dictation; 剩下的 paid later
    ("自助机 存了2800进去屏幕黑掉 钱也没到账", 2800), ("一箱是十斤那个他说是九十八嗯然后我回来打开一看", 98),
    ("讲原价九百九十八 今朝只要一百九十八 还送刀", 198), ("店 关门了 我卡里面 还有 一万三千多 没用掉", 13000),
    ("沙发当时是一万二 付了三千的定金 剩下的九千是送货的时候付的", 12000),
    # 十块钞票; a tout the consumer bought from; 4K is a resolution; 积分 and a threshold (不足300) are not paid
    ("买了包菜籽 种出来不对 十块钞票不多 就是气不过", 10), ("票面五百八 我在闲鱼上找黄牛买的一千三 进场说是假票", 1300),
    ("华数的4K机顶盒 说是一次性买断 1,280元", 1280), ("积分用了两万然后还另外付了一百九十九", 199),
    ("邮储卡 余额不足300 每个季度扣三块管理费", 3),
    ("代驾费59块照收 保险杠裂了 修一下要一千多", 59), ("月饼礼盒标价688 还过期了 超市说退300算了", 688),
    # 一毛五 = 0.15; a price each beside a size; damages the consumers asked for; 另出 on top
    ("菊苗是一毛五一棵买的", 0.15), ("孩子穿110码 毛衣35一件 洗一次就掉色", 35),
    ("帐篷一晚上五百八 漏水了 我们就说要赔一千 他们说最多退一百", 580), ("地板讲好一平方一百二 厂里讲修要另出人工钿五百", 120),
    ("代驾费六十八 蹭到石墩 修轮毂花了650", 68),
    # 加五块 is money; a Chinese price after 10kg; 按69.9收 is what was charged
    ("快递员说送上门要加钱 然后加五块", 5), ("盘锦蟹田米 产地是江苏 10kg一百零九", 109),
    ("会员价写着49.9 结账按69.9收", 69.9),
    # the part of a deposit kept (扣留其中300元), not the rest refunded (剩下的一千八倒是退了)
    ("入住时交纳押金500元 退房时以床单有污渍为由扣留其中300元", 300), ("装修押金三千 物业扣了一千二 剩下的一千八倒是退了", 1200),
    # 双人餐 is no count of pairs; a shutter count is no price; a clinic visit after the harm gives way
    ("团购券 买的九十九双人餐 到店说周末不能用", 99), ("相机活动价一万零八百 收到快门数三万多", 10800),
    ("体温计五十九买的 量出来四十度 挂号加检查花了两百多", 59),
    # a prize or a transfer limit counts only when nothing else does
    ("报名费八十 说冠军奖金一万 结果改成周边礼品", 80), ("一天只能转五万 被扣了手续费25块", 25),
    # a cap on what the merchant will pay is an offer, except an insurer's payout under a claim;
    # damages asked for give way, unless the sum is said as the thing's value
    ("车费三十二 司机公司说最多赔两百", 32), ("农业保险 台风倒伏 保险公司说最多赔八百", 800),
    ("快递丢件 要求全额赔偿 货值一千一", 1100), ("饭店以打碎杯子为由要求赔偿80元", 80),
    ("美容院打玻尿酸收费4800元 本人要求退款并赔偿10000元", 4800),
    # walking away from one thing while taking another (我就去了), or a sum the merchant demands, still counts
    ("传单上写一块钱一日游 我就去了 结果一上午都在卖保健品 我没买", 1), ("服装店试衣服 我没买 店员非说我弄脏了要我买下 两百九", 290),
    ("信用卡被盗刷六千七 银行说我没报警 不处理", 6700), ("酒店每晚要再补80 不补不给住 我没办法补了160", 160),
    # a hospital named is no doctor's bill (医院同款, 去医院查); the bill gives way to the price
    ("店员说这个血压计是医院同款 卖我六百八", 680), ("老花镜戴上头晕 商家让我妈去医院查 三十九块", 39),
    ("取暖器一百六十九 把孩子手烫伤了 医院花了一千七", 169),
    # a fee asked on top (另外付, 又要我交, 要我给) gives way to the price named
    ("羽绒服一千五百九十九 洗了一次就跑绒 修要另外付两百", 1599), ("驾校学费三千九包过 挂了一次 又要我交一千二", 3900),
    ("网上买的床两千二 送货说上楼要另外付一百五", 2200),
    # Arabic digits with two units; a dictated price running into 然后; a brand's own site is a reference;
    # the price after a discount is the one paid
    ("农村家宴十八桌一共2万8千8 菜量少得可怜", 28800), ("石磨面粉一袋五斤卖我六十八然后回来一看全是白面", 68),
    ("拼多多买的耳机1299 检测说是仿的 官网价1899", 1299), ("黑芝麻丸一盒一百九十九 满减后付了一百六十九", 169),
    ("店员称官方售价3999元、店内优惠价3699元，本人支付3699元", 3699),
    # a test or a repair paid for afterwards gives way (送检花了, 叫人修花了); a deposit named with what it is for
    ("燕窝一盒50克1688 我自己送检花了六百检测费", 1688), ("物业费一年两千三百四十 楼顶漏水 我自己叫人修花了八百", 2340),
    ("物业收了我三千装修保证金 还有两百的出入证工本费 保证金不退了", 3000),
    ("看到第三百章要开会员 开了个季卡二十九块九 只能看到四百章", 29.9),
    # RMB before digits; 一分勿退 in dialect; a deposit still frozen; the part of a deposit 扣着; a fee 额外加;
    # a mail number; a dentist's bill or days on a drip afterwards give way
    ("民宿房东取消了 RMB1260 说15个工作日退", 1260), ("房钱四百八一分勿退", 480),
    ("押金两百 房费一百五十九 退房三天了押金还冻在我卡上没解冻", 200), ("定金五百 退了三百 还扣着两百", 200),
    ("团购双人套餐券一百二十八 到店说要额外加二十块餐位费", 128), ("中药饮片价值壹仟叁佰元整，邮件号1178 3302 5641 8", 1300),
    ("蹦床公园入场99 孩子门牙磕断了 看牙花了三千多", 99),
    # a fee asked on top gives way even to a price merely named or shown
    ("美睫价目表写九十九 做好了说用的是貂毛 要补一百", 99), ("跑腿下单时显示十八块 骑手说超重要再加二十", 18),
    ("寄件运费十八 另外交了五十块包装箱押金 箱子还了押金没退", 50),
    # what was paid (付了 / 我交了) beats a price per unit or a list price, but not as a deposit or a fee
    ("黑枸杞二百八一斤 我买了半斤 付了一百四", 140), ("物业费一年两千四 提前交打九五折 我交了2280", 2280),
    ("订的生日蛋糕 定金付了一百 总价三百六", 360), ("主机去年花7800买的 保价了5000 付了保价费25元 运费68", 7800),
    ("橱柜总价是一万八千五 先付了五千定金", 18500),
    # a price said before an offer of the same sum is still the price; damages by name never are
    ("膏药才三十六 去医院花了四百二 他们只肯退三十六", 36),
    # what the same thing costs elsewhere (同款要) and what a voucher or trade-in is worth (能抵) are references
    ("一千五出头买的翻新机 同款新机要两千三", 1500),
    # an upsell cue in an earlier clause does not reach the price paid; a price per month; ten yuan of a fee;
    # a receipt number after 编号No.
    ("卖助听器的上门推销 我妈花了四千九百八买了一对 他们说可以退 但要扣一千的验配费", 4980),
    ("号码上加了个视频会员月包 19.9/月 我根本不看视频", 19.9), ("副卡每月要十块功能费 我还以为是免费的", 10),
    ("缴纳培训费人民币3,980元（收据编号No.0012876）", 3980), ("直播间九块九抢的券 说能抵一百", 9.9),
    ("以旧换新 说我旧手机能抵一千二 检查了说屏幕有问题只抵六百", 600), ("刷老年卡投了两块 退我两块 还要赔我精神损失费五百", 2), ("绿豆糕一盒二十 吃了上吐下泻 挂了三天水 花了一千多", 20), ("驾校三千九包拿证 结果要另交考试费", 3900),
])
def test_amount_in_every_form(text, amount):
    assert extract_amount(text) == pytest.approx(amount)


@pytest.mark.parametrize("text", [
    "电话13812345678", "打12315没人接", "10086天天打电话", "订单号123456789012", "等了20分钟", "住6楼",
    "买了3斤", "孩子80岁的奶奶", "TX20261120-0031 受理了吗", "iPhone15", "5G信号差", "七十多岁", "一块砖头",
    "撕开一角", "2024年3月5日买的", "百分之四十", "第三次", "双十一",
    "就七八片", "一天三四个电话", "一盘饺子十八个 我数了只有十二个", "一千多棒", "两万多条", "还剩三十二节",
    # what the merchant offers to settle is not what the consumer paid
    "客服说页面写错了补偿五十", "给了张十块钱的券就想打发我", "商家说补偿10元京豆",
    # weights, grades, rates, multiples, power
    "尿素 一包写五十公斤 称了四十六", "标签写的不锈钢304", "拼多多假一赔十不兑现",
    "说两千瓦 带个电磁炉就关机", "鱼苗 说是一万尾",
    # 大写 digits inside ordinary words, codes with digits, sessions before a fee
    "司机拾得手机后不还", "员工陆续离职", "陆女士来电", "客户编号 HS0573-2210-8876", "工单编号：TX2024-0613-0271",
    "退还剩余28节课费用",
    # a time, a rate per mille, a foreign currency, a piece knocked off, a shopping festival
    "说好七点发车 七点四十还没来", "收千分之六的手续费", "在国外被刷了五百美元", "桌角磕掉了一块", "双11买的",
    "说是2K高清", "电机2千瓦", "每天走两万步",
    "吃完血糖飙到十五", "回家一称 两百四", "说满五百才能用", "坏了十一天了", "统一买的", "要看4K得升级会员",
    # a service number before 买的, two years, a rough count before another number
    "12306买的动车票 检票说身份证识别不了", "合约每月129两年", "尺码表写胸围120 我量了才108", "三元锂电池不耐用", "西瓜切成三块", "快递把瓷砖打成三块", "执行标准是GB/T 32610 那是日常防护口罩的标准",
    "说是3080显卡 打开一看是1060", "保温杯说是304不锈钢 一吸就吸住了 明显是201", "我拍的黑色43码 来的是白色41",
    "血氧夹一会儿99一会儿85", "血糖仪连测三次 5.6 8.9 12.1",
    "商家就赔五块", "客服说那叫工艺皮，十块钱就想打发我", "累计积分约86,000分被清零", "加工毛衫衣片共3,200件",
    "充电宝标称20000毫安 实测不到5000", "空调制冷量3500W 一级能效是假的", "说是20W快充 实际只有10W",
    "网吧说是RTX4090 给的是3060", "执行标准FZ/T 73018 羊毛含量不对",
    "合同里写着综合年化23.9", "保修三年十万公里 我才跑了两万", "客服说补偿我50元无门槛券",
    "老板说赔我们两百块让我们别声张", "老板说给我换一件 或者补我五十块钱",
    "一袋米几十块钱 扔了可惜", "停车费一年少说几十万", "型号不对 订单号是 7749 2031 5568", "尺码表胸围96 量出来108",
    "瓷砖是六百乘六百的那种", "快递丢了 老板说给我赔20块", "说赔两瓶新的或者给我50块", "机构只肯补100块路费",
    "店员说退钱再赔一百", "血压计一会儿一百八一会儿一百二",
    "物业就说给我们补偿三百块钱 我觉得三百块钱根本不够", "客服送我个10元立减金就想打发我", "老板说给我换一袋或者赔二十块",
    "他们说赔我们每个人两百块", "老板说送我一张两百的卡", "宽带说好一千兆 测速最多一百多",
    "保养的时候车子里程数从三万二开到了三万二千一百多公里",
    "路由器说千兆 测速只有90多M 换了别人的路由器就有900多", "尺码表胸围一百一 我收到量了一下只有九十八",
    "晚上十一二点还在那里吵", "店号B区2楼215", "说买十送五 回家一数少两双", "打了好几次12300都没有用",
    "打游戏延迟三四百", "老板说下次来买给我打八折 再送我一百块的肥料", "只能送我200块刷卡金当补偿",
    "公交到站不停 车牌浙F·05721", "长途客车超载 车牌浙F·2K871", "我打那个 11183 打了五六次", "老板讲赔侬五十块",
    "种子在路边摊位买的 四两一包 一棵没出",
    "数字专辑说是无损 下载下来是128k的", "伊拉勿肯 只讲补阿拉二十块",
    "出金概率百分之二 我抽了两百多发了都没有出",
    "司机在车里抽烟 车牌浙F3K5**", "鞋店门口写着全场199起 进去说都卖完了",
    # damages the consumer asks for, whoever is asked, are not a sum paid
    "滴滴司机把我箱子摔坏了 我要平台赔一千五 平台不理", "我们要求旅行社每人赔一百 他们只肯道歉",
    "膝盖磕破了 要求商场出六百块 人家说我不小心", "现要求店方赔偿医药费及误工费共计伍仟元",
    "我要他们赔医药费八百 老板说最多赔两百", "用到40G就限速成128k 跟没网一样", "订单号是那个6924 开头的",
    "火锅店把汤洒到孩子手上 我要求赔五百医药费 他们说顶多给二百", "五谷杂粮 3千多的销量 全是刷的吧",
    "公交司机没等坐稳就开 我妈摔倒了 公交公司说给两百营养费就算了", "空调不制冷 调了一晚上都是28度 房号是 3012",
    "朋友圈广告美白针体验价99 去了说要做就得一千多 我没做", "洗车店门口牌子写着洗车10元 进去说只洗外面 我不洗了直接开走了", "机构广告写全年学费1980 前台说活动结束了要按原价 我就没报", "发传单说大米十斤十九块九 轮到我说卖完了 我一气没买",
    # an advert or a quote the consumer walked away from
    "健身房门口贴的广告说月卡九十九 进去问了要办年卡才行 我也没办", "直播间喊九块九抢 点进去就没了 弹出来一个九十九的 我没买",
    "饭店门口牌子写着红烧肉十八一份 菜单上是三十八 我扭头就走了",
    # a doctor's bill alone says nothing of what was paid for the thing
    "外卖备注了花生过敏 孩子吃了起疹子 去医院花了四百多", "洗头过敏 去医院看了花了四百多", "跑步机突然加速 我摔倒了 医药费317元", "吃完晚上送了急诊 挂水花了六百多",
])
def test_numbers_that_are_not_money(text):
    assert extract_amount(text) is None


@pytest.mark.parametrize("text, phone", [
    ("电话13812345678", "13812345678"), ("138 1234 5678", "13812345678"), ("138-1234-5678", "13812345678"),
    ("联系我：１３８１２３４５６７８", "13812345678"), ("19957301234谢谢", "19957301234"),
])
def test_phone_forms(text, phone):
    assert extract_phone(text) == phone


@pytest.mark.parametrize("text", ["12315", "订单1381234567890123", "12812345678", "座机0573-88123456"])
def test_not_a_mobile_phone(text):
    assert extract_phone(text) is None


@pytest.mark.parametrize("text, town", [
    ("乌镇镇的饭店", "乌镇镇"), ("在乌镇吃饭", "乌镇镇"), ("西栅里面买的", "乌镇镇"), ("乌镇景区门口", "乌镇镇"),
    ("濮院羊毛衫市场的档口", "濮院镇"), ("毛衫城买的", "濮院镇"), ("龙翔那边的超市", "高桥街道"), ("以前高桥镇的老街", "高桥街道"),
    ("梧桐街道", "梧桐街道"), ("在凤鸣", "凤鸣街道"), ("崇福皮草城", "崇福镇"), ("石門鎮的店", "石门镇"), ("烏鎮", "乌镇镇"),
    ("我住梧桐，在乌镇买的", "乌镇镇"),
])
def test_towns_old_names_and_landmarks(text, town):
    found = extract_town(text)
    assert found is not None and found[0] == town


@pytest.mark.parametrize("text", ["真是大麻烦", "大好河山", "门口的梧桐树", "桐乡市区的店", "杭州买的"])
def test_words_that_only_look_like_towns(text):
    assert extract_town(text) is None


MESSAGE_TIME = datetime(2026, 11, 25, 15, 0, tzinfo=clock.SHANGHAI)  # a Wednesday


@pytest.mark.parametrize("text, day", [
    ("今天买的", date(2026, 11, 25)), ("昨天", date(2026, 11, 24)), ("前天", date(2026, 11, 23)),
    ("大前天", date(2026, 11, 22)), ("上周三", date(2026, 11, 18)), ("上星期五", date(2026, 11, 20)),
    ("这周一", date(2026, 11, 23)), ("周日", date(2026, 11, 22)), ("11月3号", date(2026, 11, 3)),
    ("十一月三日", date(2026, 11, 3)), ("12月20号", date(2025, 12, 20)), ("上个月5号", date(2026, 10, 5)),
    ("3天前", date(2026, 11, 22)), ("2026年10月1日", date(2026, 10, 1)), ("2026-09-30", date(2026, 9, 30)),
])
def test_relative_dates_against_the_message_time(text, day):
    assert extract_date(text, MESSAGE_TIME) == day


def test_dates_use_shanghai_time_not_utc():
    from datetime import timezone

    # 23:30 UTC on the 24th is already the 25th in Shanghai, so 昨天 is the 24th
    assert extract_date("昨天买的", datetime(2026, 11, 24, 23, 30, tzinfo=timezone.utc)) == date(2026, 11, 24)


@pytest.mark.parametrize("text, merchant", [
    ("在拼多多买的", "拼多多"), ("乌镇老街饭店吃饭", "老街饭店"), ("明视眼镜配的", "明视眼镜"),
    ("天猫旗舰店买的", "天猫旗舰店"), ("那家叫“阿香米线”的店", "阿香米线"),
    ("本人于2024年1月15日通过淘宝店购买", "淘宝"), ("本人于2023年8月在“启航学堂”报名", "启航学堂"),
    # 我们 / 他们 / 咱们 before a shop are not part of its name
    ("厂里的工厂店和他们天猫店各买了一条", "天猫店"), ("咱们老街饭店的菜", "老街饭店"),
])
def test_merchant_names(text, merchant):
    assert extract_merchant(text) == merchant


def test_channel_demand_and_complaint_context():
    assert extract_online("淘宝买的") is True and extract_online("商场专柜买的") is False
    assert extract_online("买的") is None
    assert extract_demand("要求退款并道歉") == "refund" and extract_demand("只想要个道歉") == "apology"
    facts = extract("抖音直播间卖的鱼油199元一瓶，优惠中", MESSAGE_TIME, is_complaint=False)
    assert facts.amount is None and facts.merchant is not None
