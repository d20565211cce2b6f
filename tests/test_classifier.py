"""The sector classifier: the tie-breaking rules, persistence, and training on other people's files."""
from __future__ import annotations

import csv
import json
import shutil

import pytest

from bot.classifier import datasets, tokenizer
from bot.classifier.cli import main as classifier_cli
from bot.classifier.model import ModelError, ModelVersionError, SectorClassifier
from tests.conftest import TEST_SETTINGS

SECRET = TEST_SETTINGS["secret_key"]

# Each rule of ../shared/sectors.md "Deciding between sectors", with messages written for this test
# (none of them is in training_data/): the channel points one way, the rule decides the other.
RULES = [
    # 1. food, medicine, grain and oil, farm inputs keep their sector whatever the channel
    ("拼多多下单的全麦吐司，拆开就长了绿毛，保质期还没到", "food"),
    ("抖音直播间买的褪黑素软糖，吃了心慌，包装上没有生产许可证号", "food"),
    ("网上药房买的阿莫西林，批号查不到，怀疑是假药", "medical_products"),
    ("京东上买的五常大米，煮出来一股霉味，根本不是新米", "grain_oil"),
    ("淘宝买的西瓜种子，种下去半个月一棵芽都没出", "agri_inputs"),
    # 2. a restaurant meal or a takeaway is catering
    ("饿了么点的黄焖鸡米饭，鸡肉是馊的，吃完拉了一晚上肚子", "catering"),
    ("美团外卖的炒饭里有一根钢丝球的铁丝", "catering"),
    # 3. a service booked online keeps its own sector
    ("携程订的乌镇民宿，到了说没房了，订金也不退", "tourism"),
    ("在App上买的考研网课，老师换人了，申请退款说虚拟商品不退", "education_training"),
    ("滴滴打车司机故意绕路，多收了我四十多块", "transport"),
    ("王者荣耀充值六百四十八，钻石一直没到账，客服不理人", "culture_entertainment"),
    ("手机上借的网贷，砍头息扣了三成，还天天打电话骚扰我家人", "finance"),
    # 4. a parcel's journey is express delivery; a wrong item from the seller is online shopping
    ("中通快递把我的包裹弄丢了，快递员说签收了，我根本没收到", "express_delivery"),
    ("网购的电饭煲在运输途中被压坏了，外箱全瘪了，快递员不认", "express_delivery"),
    ("淘宝买的黑色运动鞋，卖家发来的是白色的还小两码，不给换", "online_shopping"),
    # 5. a handset is a good, the plan is telecom
    ("在营业厅旁边的手机店买的华为手机，三天就黑屏，店里不给换", "general_goods"),
    ("移动给我开通了十几块的视频彩铃，我从来没订过，每个月都扣钱", "telecom"),
    # 6. other goods bought online are online shopping
    ("唯品会买的羊绒大衣，吊牌写百分百羊绒，检测出来是腈纶", "online_shopping"),
    # 7. aimed at the maker or a factory outlet is factory products; a shop problem is general goods
    ("濮院一家羊毛衫厂的门市部，毛衣洗一次就变形，厂里说生产没问题", "factory_products"),
    ("百货商场买的毛衣，标价两百九，收银台收了三百九，商场不承认", "general_goods"),
]


@pytest.mark.parametrize("text, expected", RULES)
def test_tie_breaking_rules(classifier, text, expected):
    prediction = classifier.predict(text)
    assert prediction.label == expected, (text, prediction.top)


def test_rule_examples_are_not_training_data():
    train_texts = {r["text"] for r in datasets.load_labelled(datasets.TRAIN)}
    assert not any(text in train_texts for text, _ in RULES)


@pytest.mark.parametrize("text", ["你好，请问在吗", "上次投诉的那个事处理得怎么样了", "谢谢你们，问题已经解决了",
                                  "老板拖欠我三个月工资，怎么办", "邻居家装修太吵了"])
def test_not_a_complaint(classifier, text):
    assert classifier.predict(text).label == "none", classifier.predict(text).top


@pytest.mark.parametrize("text, kind", [
    ("前天投诉的那个健身房退卡的事，现在到哪一步了？单子还没人接吗", "followup"),
    ("【清仓】崇福皮草城秋冬貂绒大衣厂家直销 全场三折起 加微信看货 送货上门", "ad"),
    ("老板拖了我们五个工人两个月的工钱，一共三万多，劳动监察说要走仲裁", "work"),
])
def test_a_non_complaint_says_what_kind_it_is(classifier, text, kind):
    """`none` is trained as its kinds; the label stays `none` and the kind tells the bot how to answer."""
    prediction = classifier.predict(text)
    assert (prediction.label, prediction.kind) == ("none", kind), prediction.top
    assert all("/" not in label for label, _ in prediction.top)
    assert classifier.labels == sorted(classifier.labels) and "none" in classifier.labels
    assert not any("/" in label for label in classifier.labels)


def test_a_complaint_has_no_kind_and_none_is_explained_by_its_kind(classifier):
    assert classifier.predict("乌镇老街饭店吃饭被多收了两百块，要求退款").kind is None
    advert = "【清仓】崇福皮草城秋冬貂绒大衣厂家直销 全场三折起 加微信看货 送货上门"
    reasons = [term.strip() for term, _ in classifier.explain(advert, "none", k=5)]
    assert any(word in term for term in reasons for word in ("清仓", "直销", "微信", "三折", "看货", "送货")), reasons


@pytest.mark.parametrize("label, confidence, kind, in_dispute", [
    ("catering", 0.9, None, True),  # a complaint
    ("none", 0.4, "howto", True),  # maybe a complaint: the bot asks, and keeps the sum
    ("none", 0.4, "ad", False),  # maybe a complaint, but most like an advert: its prices were never paid
    ("none", 0.9, "praise", False),  # not a complaint
])
def test_a_sum_is_in_dispute_only_where_a_complaint_may_be(label, confidence, kind, in_dispute):
    from bot.classifier.model import Prediction

    prediction = Prediction(label=label, confidence=confidence, top=[(label, confidence)], threshold=0.5, kind=kind)
    assert prediction.money_in_dispute is in_dispute


def test_a_kind_too_rare_to_calibrate_is_fitted_as_its_label():
    from bot.classifier.model import MIN_KIND_SIZE, fitted_classes

    labels = ["none"] * (MIN_KIND_SIZE + 3) + ["food"] * 5
    kinds = ["ad"] * MIN_KIND_SIZE + ["odd"] * 3 + [None] * 5
    fitted, label_of = fitted_classes(labels, kinds)
    assert list(fitted) == ["none/ad"] * MIN_KIND_SIZE + ["none"] * 3 + ["food"] * 5
    assert label_of == {"none/ad": "none"}


def test_the_none_cut_reaches_the_recall_target_at_the_least_cost():
    import numpy as np

    from bot.classifier.model import apply_none_threshold, choose_none_threshold

    classes = np.array(["food", "none"])
    # P(none) for 10 non-complaints and 10 complaints
    p_none = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.45, 0.4, 0.3, 0.2, 0.12] + [0.3, 0.2, 0.1, 0.05] + [0.02] * 6)
    probabilities = np.column_stack([1 - p_none, p_none])
    labels = np.array(["none"] * 10 + ["food"] * 10)
    cut = choose_none_threshold(probabilities, labels, classes, recall_target=0.9)
    predicted = apply_none_threshold(probabilities, classes, cut)
    assert (predicted[:10] == "none").mean() >= 0.9  # the target is met...
    assert cut == 0.2  # ...by the highest cut that meets it (0.125 would also turn away a complaint at 0.2)
    unreachable = choose_none_threshold(probabilities, labels, classes, recall_target=1.01)
    assert unreachable >= 0.3  # no cut reaches it: the best macro-F1 instead


def test_predictions_give_three_sectors_summing_below_one_and_reasons(classifier):
    prediction = classifier.predict("乌镇老街饭店吃饭被多收了两百块，要求退款")
    assert len(prediction.top) == 3 and prediction.top[0][0] == prediction.label
    assert prediction.top[0][1] >= prediction.top[1][1] >= prediction.top[2][1]
    assert 0 < sum(p for _, p in prediction.top) <= 1.0001
    reasons = classifier.explain("乌镇老街饭店吃饭被多收了两百块，要求退款")
    assert reasons and all(weight > 0 for _, weight in reasons)
    assert any("饭" in term for term, _ in reasons)


def test_threshold_comes_from_training_and_marks_unsure_predictions(classifier):
    assert 0.3 <= classifier.threshold <= 0.8
    vague = classifier.predict("买的东西坏了找谁")
    assert vague.confident == (vague.confidence >= classifier.threshold)


# -- persistence ------------------------------------------------------------------------------
def copy_model(model_path, tmp_path):
    target = tmp_path / "m.npz"
    shutil.copy(model_path, target)
    shutil.copy(model_path.with_suffix(".json"), target.with_suffix(".json"))
    return target


def test_a_model_from_another_sklearn_version_is_refused_with_a_retrain_hint(model_path, tmp_path):
    target = copy_model(model_path, tmp_path)
    meta = json.loads(target.with_suffix(".json").read_text())
    meta["sklearn_version"] = "0.24.2"
    target.with_suffix(".json").write_text(json.dumps(meta))
    with pytest.raises(ModelVersionError) as info:
        SectorClassifier.load(target, SECRET)
    assert "0.24.2" in str(info.value) and "python -m bot.classifier train" in str(info.value)


def test_a_model_file_this_installation_did_not_write_is_never_loaded(model_path, tmp_path):
    target = copy_model(model_path, tmp_path)
    with pytest.raises(ModelError, match="signature"):
        SectorClassifier.load(target, "another-installation's-secret")
    # a tampered file with the original metadata
    with target.open("ab") as fh:
        fh.write(b"\x00evil")
    with pytest.raises(ModelError, match="signature"):
        SectorClassifier.load(target, SECRET)


def test_a_missing_model_says_how_to_train(tmp_path):
    with pytest.raises(ModelError, match="python -m bot.classifier train"):
        SectorClassifier.load(tmp_path / "nothing.npz", SECRET)


def test_a_model_in_the_old_pickle_format_is_refused_with_a_retrain_hint(model_path, tmp_path):
    target = copy_model(model_path, tmp_path)
    meta = json.loads(target.with_suffix(".json").read_text())
    meta["format"] = 1
    target.with_suffix(".json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="older file format.*python -m bot.classifier train"):
        SectorClassifier.load(target, SECRET)


@pytest.mark.parametrize("labels, with_kinds", [(None, False), (("food", "none"), False), (None, True),
                                               (("food", "none"), True)],
                         ids=["18 classes", "two classes", "18 labels with kinds", "two labels with kinds"])
def test_the_saved_model_gives_the_trained_pipelines_probabilities(tmp_path, labels, with_kinds):
    import numpy as np

    from bot.classifier.inference import LinearTextModel
    from bot.classifier.model import build_pipeline, fitted_classes, merge_columns, sample_weights

    records = datasets.load_labelled(datasets.TRAIN)
    if labels:
        records = [r for r in records if r["label"] in labels]
    records = records[:: max(1, len(records) // 1500)][:1500]  # every label, not only the first files
    texts, y = [r["text"] for r in records], np.array([r["label"] for r in records])
    fitted, label_of = fitted_classes(y, datasets.kinds(records) if with_kinds else None)
    assert bool(label_of) == with_kinds
    pipeline = build_pipeline()
    pipeline.fit(texts, fitted, classifier__sample_weight=sample_weights(y))
    path = tmp_path / "copy.npz"
    path.write_bytes(LinearTextModel.from_pipeline(pipeline, label_of).to_bytes())
    copy = LinearTextModel.from_file(path)
    unseen = [r["text"] for r in datasets.load_labelled(datasets.TEST)][:400] + ["", "！！！", "hello"]
    assert np.abs(pipeline.predict_proba(unseen) - copy.subclass_proba(unseen)).max() < 1e-6
    merged = merge_columns(pipeline.predict_proba(unseen), pipeline.classes_, label_of)
    assert np.abs(merged - copy.predict_proba(unseen)).max() < 1e-6
    assert list(copy.classes_) == sorted(set(y.tolist()))
    assert np.allclose(copy.predict_proba(unseen).sum(axis=1), 1.0)


def test_a_worker_predicts_without_importing_scikit_learn(model_path):
    """Importing scikit-learn costs 0.7 s of a worker's cold start; prediction must not need it."""
    import subprocess
    import sys

    from bot.core.config import ROOT

    probe = (
        "import sys, json\n"
        "from bot.classifier.model import SectorClassifier\n"
        "from bot.classifier.extraction import extract\n"
        "m = SectorClassifier.load(sys.argv[1], sys.argv[2])\n"
        "p = m.predict('乌镇老街饭店吃饭被多收了两百块，要求退款')\n"
        "extract('乌镇老街饭店吃饭被多收了两百块'); m.explain('乌镇老街饭店吃饭被多收了两百块')\n"
        "print(json.dumps([p.label, any(n == 'sklearn' or n.startswith('sklearn.') for n in sys.modules)]))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe, str(model_path), SECRET], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    assert json.loads(out) == ["catering", False]


def test_rjieba_cuts_exactly_like_jieba_on_the_corpus():
    texts = [r["text"] for r in datasets.load_sources()]
    different = [t for t in texts if tokenizer.words(t, "jieba") != tokenizer.words(t, "rjieba")]
    assert different == []


def test_fast_path_gives_the_same_answers_as_jieba(classifier):
    texts = [r["text"] for r in datasets.load_labelled(datasets.TEST)][:300]
    previous = tokenizer.segmenter()
    try:
        tokenizer.use_segmenter("jieba")
        with_jieba = [p.label for p in classifier.predict_many(texts)]
        tokenizer.use_segmenter("rjieba")
        with_rjieba = [p.label for p in classifier.predict_many(texts)]
    finally:
        tokenizer.use_segmenter(previous)
    assert with_jieba == with_rjieba


# -- any labelled file ---------------------------------------------------------------------------
HOTLINE_ROWS = [
    ("来电反映某小区电梯经常停运，物业不修", "物业"), ("反映楼道灯坏了物业一个月没修", "物业"),
    ("业主反映物业费上涨未公示", "物业"), ("反映停车费乱收", "物业"), ("物业不给开发票", "物业"),
    ("物业保安态度差", "物业"), ("来电反映超市卖过期牛奶", "食品"), ("面包里有异物", "食品"),
    ("买的饮料胀气了还在卖", "食品"), ("月饼发霉", "食品"), ("零食没有生产日期", "食品"),
    ("熟食店卫生差", "食品"),
]


def write_hotline_csv(path, encoding="gb18030"):
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["工单编号", "诉求内容", "行业分类"])
        for i, (text, label) in enumerate(HOTLINE_ROWS * 3):
            writer.writerow([f"GD{i:05d}", f"{text}（{i}）", label])


def test_cv_on_a_hotline_export_in_gb18030_csv(tmp_path, capsys):
    path = tmp_path / "hotline.csv"
    write_hotline_csv(path)
    assert classifier_cli(["cv", str(path), "--folds", "3", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n"] == 36 and result["folds"] == 3 and 0 <= result["accuracy"] <= 1
    assert {"accuracy_std", "macro_f1", "macro_f1_std"} <= result.keys()


def test_cv_fits_the_kinds_of_a_label_and_scores_the_label(tmp_path, capsys):
    """A file whose none records carry kinds: folds are fitted on the kinds, scored on the 18 labels."""
    records = datasets.load_labelled(datasets.TRAIN)
    sample = records[:: len(records) // 600][:600]
    assert {r.get("kind") for r in sample if r["label"] == "none"} >= {"followup", "ad", "praise"}
    path = tmp_path / "with_kinds.jsonl"
    datasets.write_jsonl(path, sample)
    assert '"kind"' in path.read_text(encoding="utf-8")
    assert classifier_cli(["cv", str(path), "--folds", "3", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n"] == len(sample) and 0.5 <= result["accuracy"] <= 1


def test_train_and_evaluate_on_an_xlsx_export(tmp_path, capsys, monkeypatch):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["内容", "分类"])
    for text, label in HOTLINE_ROWS * 4:
        sheet.append([text, label])
    path = tmp_path / "hotline.xlsx"
    book.save(path)
    monkeypatch.setenv("FANGXIN_INSTANCE", str(tmp_path))
    monkeypatch.setenv("SECRET_KEY", SECRET)
    out = tmp_path / "hotline_model.npz"
    assert classifier_cli(["train", "--data", str(path), "--out", str(out)]) == 0
    assert classifier_cli(["evaluate", str(path), "--model", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(report["per_class"]) == {"物业", "食品"}


def test_a_file_without_recognisable_columns_says_which_to_name(tmp_path, capsys):
    path = tmp_path / "odd.csv"
    path.write_text("a,b\nx,y\n", encoding="utf-8")
    assert classifier_cli(["cv", str(path)]) == 2
    assert "--text-column" in capsys.readouterr().err


def test_evaluate_json_has_the_promised_keys(model_path, capsys, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", SECRET)
    assert classifier_cli(["evaluate", str(datasets.TEST), "--model", str(model_path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {"accuracy", "macro_f1", "per_class", "fields"} <= report.keys()
    assert set(report["fields"]) == {"town", "amount", "phone", "merchant"}
    assert len(report["per_class"]) == 18
    # the misses behind each field's accuracy, split by whether the message was a complaint
    for field, accuracy in report["fields"].items():
        misses = report["field_misses"][field]
        assert misses["complaints"] + misses["non_complaints"] == round((1 - accuracy) * report["n"])
