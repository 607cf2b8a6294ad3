"""Text whose characters form no words is rejected `gibberish`; real text never is.

The gibberish kinds are generated from fixed seeds (so a failure reproduces);
the real texts are short articles in several languages and scripts, tables of
numbers, code-like technical English, the three samples and, when the corpus is
next to the project, all 2,225 BBC articles.
"""

# Real text in Greek, Chinese, German... holds letters and punctuation that look like ASCII.
# ruff: noqa: RUF001

from __future__ import annotations

import base64
import json
import random
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from worker.errors import Rejected
from worker.fates import Verdict
from worker.parse import language, parse_file
from worker.parse.validate import validate
from worker.reasons import REASONS
from worker.records import Document, ParseOptions

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = sorted((ROOT / "samples").glob("*.txt"))
BBC = ROOT.parent / "shared" / "corpora" / "bbc"
OPTIONS = ParseOptions()
HEADER = b"date 2021-05-04\n"
SEEDS = range(12)


def judge(raw: bytes, name: str = "in.txt") -> list[Document | Verdict]:
    return [
        item if isinstance(item, Verdict) else validate(item, OPTIONS, date(2024, 1, 1))
        for item in parse_file(raw, name, OPTIONS)
    ]


def gibberish(result: Document | Verdict) -> Verdict:
    assert isinstance(result, Verdict), f"stored: {result.body[:80]!r}"
    assert result.reason == "gibberish", result
    assert result.reason in REASONS
    assert result.detail.startswith("The text ") and result.detail.endswith(".")
    assert "UTF-8" in result.detail  # what to do
    return result


# --- gibberish, kind by kind ------------------------------------------------------------

ROLLS = ["asdf", "jkl", "sdf", "fdsa", "hjkl", "qwer", "qwerty", "asdasd", "jkjk", "dfgh", "zxcv"]


def letter_salad(rng: random.Random) -> str:
    letters = "abcdefghijklmnopqrstuvwxyz"
    return " ".join(
        "".join(rng.choice(letters) for _ in range(rng.randint(2, 9))) for _ in range(80)
    )


def mixed_case_salad(rng: random.Random) -> str:
    letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return " ".join(
        "".join(rng.choice(letters) for _ in range(rng.randint(2, 9))) for _ in range(80)
    )


def keyboard_mash(rng: random.Random) -> str:
    return " ".join("".join(rng.choices(ROLLS, k=rng.randint(1, 4))) for _ in range(50))


def keyboard_mash_unbroken(rng: random.Random) -> str:
    return "".join(rng.choices(ROLLS, k=80))


def base64_lines(rng: random.Random) -> str:
    return base64.encodebytes(rng.randbytes(600)).decode()


def base64_blob(rng: random.Random) -> str:
    return base64.b64encode(rng.randbytes(600)).decode()


def xxd_dump(rng: random.Random) -> str:
    lines = []
    for offset in range(0, 320, 16):
        data = rng.randbytes(16)
        words = " ".join(data[i : i + 2].hex() for i in range(0, 16, 2))
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in data)
        lines.append(f"{offset:08x}: {words}  {text}")
    return "\n".join(lines)


def hexdump_canonical(rng: random.Random) -> str:
    lines = []
    for offset in range(0, 320, 16):
        data = rng.randbytes(16)
        left, right = (" ".join(f"{b:02x}" for b in half) for half in (data[:8], data[8:]))
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in data)
        lines.append(f"{offset:08x}  {left}  {right}  |{text}|")
    return "\n".join(lines)


def hex_bytes_upper(rng: random.Random) -> str:
    return " ".join(f"{b:02X}" for b in rng.randbytes(200))


def hex_string(rng: random.Random) -> str:
    return rng.randbytes(400).hex()


TEXT_KINDS: dict[str, Callable[[random.Random], str]] = {
    "letter salad": letter_salad,
    "mixed-case salad": mixed_case_salad,
    "keyboard mash": keyboard_mash,
    "keyboard mash, no spaces": keyboard_mash_unbroken,
    "base64, wrapped": base64_lines,
    "base64, one line": base64_blob,
    "xxd": xxd_dump,
    "hexdump -C": hexdump_canonical,
    "hex bytes": hex_bytes_upper,
    "hex string": hex_string,
}


@pytest.mark.parametrize("kind", TEXT_KINDS)
def test_gibberish_text_is_rejected(kind: str) -> None:
    for seed in SEEDS:
        text = TEXT_KINDS[kind](random.Random(seed))
        (result,) = judge(HEADER + text.encode())
        gibberish(result)


# Random bytes a legacy code page turns into letters: decode refuses most of them
# (`undecodable`); what it lets through must be judged gibberish, never stored.


def cp1251_letters(rng: random.Random) -> bytes:
    # Random Cyrillic letters of either case (0xC0-0xFF in cp1251), a quarter spaces.
    return bytes(0x20 if rng.random() < 0.25 else rng.randrange(0xC0, 0x100) for _ in range(600))


def cp1251_words(rng: random.Random) -> bytes:
    words = (
        bytes(rng.randrange(0xC0, 0x100) for _ in range(rng.randint(1, 8))) for _ in range(120)
    )
    return b" ".join(words)


def latin_and_high_bytes(rng: random.Random) -> bytes:
    # ASCII letters and spaces with accented cp1252 letters among them.
    alphabet = b"abcdefghijklmnopqrstuvwxyz    \xe9\xe8\xe0\xfc\xf6\xe4\xe7\xf1"
    return bytes(rng.choice(alphabet) for _ in range(600))


def urandom_letters_and_up(rng: random.Random) -> bytes:
    # The recipe: random bytes filtered to 0x41-0xFF.
    return bytes(rng.randrange(0x41, 0x100) for _ in range(600))


BYTE_KINDS: dict[str, Callable[[random.Random], bytes]] = {
    "cp1251 letters": cp1251_letters,
    "cp1251 words": cp1251_words,
    "latin and high bytes": latin_and_high_bytes,
    "random 0x41-0xFF": urandom_letters_and_up,
}


@pytest.mark.parametrize("kind", BYTE_KINDS)
def test_random_bytes_through_a_legacy_code_page_are_never_stored(kind: str) -> None:
    fates = []
    for seed in SEEDS:
        raw = HEADER + BYTE_KINDS[kind](random.Random(seed))
        try:
            (result,) = judge(raw)
        except Rejected as exc:
            assert exc.reason == "undecodable", exc
            fates.append(exc.reason)
            continue
        fates.append(gibberish(result).reason)
    assert set(fates) <= {"undecodable", "gibberish"}
    if kind != "random 0x41-0xFF":  # those never even decode
        assert fates.count("gibberish") >= 3, fates  # decoded, then judged


def test_legacy_decoded_gibberish_says_why() -> None:
    (result,) = judge(HEADER + cp1251_letters(random.Random(0)))
    assert "capitals and small letters alternate at random" in gibberish(result).detail


def test_gibberish_in_json_and_in_one_ndjson_record() -> None:
    blob = base64_blob(random.Random(1))
    (single,) = judge(json.dumps({"date": "2021-05-04", "body": blob}).encode(), "a.json")
    gibberish(single)
    lines = [
        {"date": "2021-05-04", "body": "The council met on Monday and agreed the new budget."},
        {"date": "2021-05-04", "body": xxd_dump(random.Random(2))},
    ]
    good, bad = judge("\n".join(json.dumps(line) for line in lines).encode(), "feed.ndjson")
    assert isinstance(good, Document) and good.language == "en"
    assert gibberish(bad).record == 2


@pytest.mark.parametrize(
    "text",
    [
        "xq zkwp vbnm qrst lkjh",  # 22 characters: too little to judge
        "asdfasdf jkljkl qwerqwer zxcv",
        "aGVsbG8gd29ybGQgaGVsbG8gd29ybGQ=",
        "4865 6c6c 6f20 776f 726c 640a 0a00",
    ],
)
def test_short_texts_are_not_judged(text: str) -> None:
    assert len(text) < language.GIBBERISH_MIN_CHARS
    (result,) = judge(HEADER + text.encode())
    assert isinstance(result, Document), result


# --- real text, never gibberish --------------------------------------------------------

ARTICLES = {
    "de": "Die Bundesregierung hat am Dienstag ein neues Förderprogramm für den Ausbau der "
    "Ladeinfrastruktur vorgestellt. Nach Angaben des Verkehrsministeriums sollen bis Ende "
    "des kommenden Jahres rund 50.000 zusätzliche Ladepunkte entstehen.",
    "fr": "Le conseil municipal a adopté lundi soir le nouveau plan de circulation du "
    "centre-ville. Les travaux commenceront au printemps et dureront environ dix-huit mois, "
    "selon la mairie. Les commerçants craignent une baisse de fréquentation.",
    "es": "El Ayuntamiento aprobó el martes un plan para ampliar la red de carriles bici en "
    "los barrios del sur. Las obras comenzarán en septiembre y costarán unos doce millones "
    "de euros, según fuentes municipales.",
    "ru": "Правительство утвердило новую программу поддержки малого бизнеса. По словам "
    "министра экономики, льготные кредиты получат более двадцати тысяч предприятий. "
    "Первые заявки начнут принимать уже в следующем месяце.",
    "el": "Το υπουργικό συμβούλιο ενέκρινε την Τρίτη νέο πρόγραμμα στήριξης για τους "
    "μικρούς παραγωγούς. Σύμφωνα με τον υπουργό, οι πρώτες πληρωμές θα γίνουν πριν από το "
    "τέλος του μήνα.",
    "zh": "市政府周二宣布，将在明年年底前新建二十座公园，并改造老旧小区的绿化设施。"
    "负责人表示，项目总投资约为十五亿元，资金主要来自地方财政。市民对此普遍表示欢迎。",
    "ja": "政府は火曜日、地方の公共交通を支援する新たな計画を発表した。来年度から、"
    "利用者の少ない路線バスの運行費用の一部を国が補助する。自治体からは歓迎の声が上がっている。",
    "ar": "أعلنت وزارة التعليم يوم الثلاثاء عن خطة جديدة لتطوير المدارس في المناطق الريفية. "
    "وقال الوزير إن المشروع سيشمل بناء مئة مدرسة جديدة خلال السنوات الثلاث المقبلة.",
    "cs": "Vláda ve středu schválila návrh zákona o podpoře bydlení. Podle ministra by první "
    "byty mohly vzniknout už příští rok; strč prst skrz krk, řekl se smíchem. Opozice "
    "kritizuje vysoké náklady.",
    "pl": "Rząd przedstawił we wtorek nowy plan wsparcia transportu publicznego na obszarach "
    "wiejskich. Według ministra pierwsze dopłaty zostaną wypłacone na początku przyszłego roku.",
    "cy": "Mae'r llywodraeth wedi cyhoeddi cynllun newydd i gefnogi trafnidiaeth gyhoeddus yng "
    "nghefn gwlad. Dywedodd y gweinidog y bydd y grantiau cyntaf yn cael eu talu fis nesaf.",
    "vi": "Chính phủ hôm thứ Ba đã công bố kế hoạch mới nhằm hỗ trợ giao thông công cộng ở "
    "các vùng nông thôn. Các khoản trợ cấp đầu tiên sẽ được chi trả từ đầu năm tới.",
    "ko": "정부는 화요일 지방 대중교통을 지원하는 새로운 계획을 발표했다. 내년부터 이용객이 "
    "적은 노선버스의 운행 비용 일부를 국가가 보조한다. 지방자치단체들은 환영의 뜻을 밝혔다.",
    "hi": "सरकार ने मंगलवार को ग्रामीण क्षेत्रों में स्कूलों के विकास के लिए एक नई योजना की "
    "घोषणा की। मंत्री ने कहा कि अगले तीन वर्षों में सौ नए स्कूल बनाए जाएंगे।",
    "th": "รัฐบาลประกาศแผนใหม่เมื่อวันอังคารเพื่อสนับสนุนระบบขนส่งสาธารณะในต่างจังหวัด "
    "โดยจะเริ่มให้เงินอุดหนุนตั้งแต่ปีหน้า",
    "he": "הממשלה הודיעה ביום שלישי על תוכנית חדשה לפיתוח בתי הספר באזורים הכפריים. השר "
    "אמר כי בשלוש השנים הקרובות ייבנו מאה בתי ספר חדשים.",
    "ka": "მთავრობამ სამშაბათს წარადგინა ახალი გეგმა სოფლად საზოგადოებრივი ტრანსპორტის "
    "მხარდასაჭერად. მინისტრის თქმით, პირველი სუბსიდიები მომავალი წლის დასაწყისში გადაიხდება.",
}


@pytest.mark.parametrize("code", ARTICLES)
def test_short_articles_in_other_languages_are_stored(code: str) -> None:
    (result,) = judge(HEADER + ARTICLES[code].encode())
    assert isinstance(result, Document), result
    assert result.language == code


# Real text fastText is unsure of (tables, lists, citations) or that mixes code with prose.
UNUSUAL = {
    "football results": "Premier League results\n\nArsenal 2-1 Chelsea\nLiverpool 0-0 Everton\n"
    "Man Utd 3-2 Tottenham\nNewcastle 1-4 Aston Villa\nFulham 2-2 Bolton\n\nTable\n"
    "1. Arsenal P20 W15 D3 L2 GD+28 Pts 48\n2. Chelsea P20 W14 D4 L2 GD+25 Pts 46\n"
    "3. Everton P20 W12 D3 L5 GD+9 Pts 39",
    "league table": "1. Arsenal 38 26 9 3 73 26 90\n2. Chelsea 38 24 7 7 67 30 79\n"
    "3. Man Utd 38 23 6 9 64 35 75\n4. Liverpool 38 16 12 10 55 37 60\n"
    "5. Newcastle 38 13 17 8 52 40 56\n6. Aston Villa 38 15 11 12 48 44 56",
    "share prices": "FTSE 100 closing prices\n\nBarclays 512.5p +3.5 (0.7%)\n"
    "BP 389.25p -2.0 (-0.5%)\nHSBC 875p +12 (1.4%)\nVodafone 141.75p -0.25 (-0.2%)\n"
    "Tesco 298.5p +1.5 (0.5%)\nGSK 1,245p +8 (0.6%)\nUnilever 2,310p -15 (-0.6%)",
    "tickers": "AAPL 189.25 +1.32 +0.70%\nMSFT 402.10 -2.05 -0.51%\nGOOG 141.80 +0.95 +0.67%\n"
    "AMZN 178.15 +3.10 +1.77%\nNVDA 875.28 +21.40 +2.51%\nTSLA 171.05 -4.22 -2.41%\n"
    "META 484.03 +2.88 +0.60%\nBARC 2.51 +0.03; LLOY 0.52 -0.01; VOD 0.71 +0.00",
    "election": "Con 35.2% (+1.4) Lab 29.0% (-6.2) LD 22.1% (+0.7) SNP 1.7% Grn 0.9% "
    "UKIP 3.1% Oth 8.0%. Turnout 65.1%. Seats: Con 306, Lab 258, LD 57, Oth 29. Majority: "
    "none (hung parliament).",
    "weather": "London 18C cloudy\nParis 21C sunny\nMadrid 29C sunny\nBerlin 16C rain\n"
    "Oslo 11C showers\nRome 25C sunny\nAthens 28C sunny\nDublin 14C drizzle\nLisbon 24C sunny",
    "cricket": "England 1st innings: Strauss c Gilchrist b McGrath 2, Trescothick b Warne 90, "
    "Vaughan c Hayden b Lee 41, Bell lbw b Warne 6, Pietersen not out 158, Flintoff c & b "
    "Warne 8. Extras (b 4, lb 7, w 7, nb 16) 34. Total (all out, 91.3 overs) 373.",
    "Bundesliga": "Bundesliga, 12. Spieltag: Bayern – Dortmund 2:1 (1:0), Leverkusen – "
    "Leipzig 3:3 (2:1), Stuttgart – Frankfurt 0:2 (0:1), Bremen – Wolfsburg 1:1 (0:0). "
    "Tabelle: 1. Bayern 28, 2. Leverkusen 26.",
    "team sheet": "Italy: Buffon; Zambrotta, Cannavaro, Materazzi, Grosso; Camoranesi, Gattuso, "
    "Pirlo, Perrotta; Totti; Toni. Subs: Del Piero, Iaquinta, De Rossi. France: Barthez; "
    "Sagnol, Thuram, Gallas, Abidal; Vieira, Makelele; Ribery, Zidane, Malouda; Henry.",
    "capitals": "THE GOVERNMENT HAS ANNOUNCED A NEW PLAN TO BUILD ONE HUNDRED SCHOOLS IN RURAL "
    "AREAS OVER THE NEXT THREE YEARS, THE MINISTER SAID ON TUESDAY. TEACHERS WELCOMED IT.",
    "citations": "See R v Smith [2001] UKHL 36; [2001] 1 AC 146; Art. 6(1) ECHR; s. 3(2)(b) of "
    "the Act 1998 (c. 42); Sch. 1, para. 4; cf. Brown v Stott [2003] 1 AC 681 (PC).",
    "references": "ISBN 978-0-14-044913-6; doi:10.1038/nature12373; arXiv:1706.03762v5; "
    "PMID 31415926; ISSN 0028-0836. Vaswani A, Shazeer N, Parmar N et al. Attention is all "
    "you need. NeurIPS 2017.",
    "technical": "To fix the crash, upgrade libfoo to 2.4.1 and set MAX_WORKERS=4 in "
    "config.yaml. The function parse_header(buf, len) now returns -EINVAL when len < 8; "
    "callers such as read_frame() check it. Run `make test && ./bin/check --strict` first.",
    "camelCase": "In JavaScript, call document.getElementById('app') and then "
    "element.addEventListener('click', handleClick); in TypeScript the HTMLElement type "
    "exposes innerText and textContent, and querySelectorAll returns a NodeList.",
    "code": "def parse(text: str) -> dict[str, int]:\n    counts = {}\n    for word in "
    "text.split():\n        counts[word] = counts.get(word, 0) + 1\n    return counts\n\n"
    "if __name__ == '__main__':\n    print(parse(sys.stdin.read()))",
    "links": "Links: https://www.bbc.co.uk/news/uk-politics-12345678 https://example.org/a/b?c=d "
    "http://news.example.com/2024/05/04/story.html see also www.gov.uk/guidance and "
    "ftp://files.example.net/pub/data.csv for the data.",
    "chemistry": "The catalyst (Pd/C, 10 mol%) converted C6H5NO2 to C6H5NH2 in 92% yield at "
    "25 °C and 1 atm H2; see J. Org. Chem. 2019, 84, 1234–1240. The TOF was 1.2×10³ h⁻¹.",
    "social post": "Huge win tonight!! 🎉🎉 #COYS @SpursOfficial 3-0 🔥 Son, Kane, Maddison "
    "all scored. What a night at the Lane 💙 #THFC #PremierLeague https://t.co/xYz12AbC",
    "brands": "Apple unveiled the iPhone 15, iPad Air, MacBook Pro and AirPods Pro at WWDC; the "
    "HomePod mini and iMac got updates too, and the App Store, iCloud and iTunes saw price "
    "changes for UK users.",
    "mixed languages": "Der Begriff 'Brexit' bedeutet the withdrawal of the United Kingdom "
    "from the EU; la France et l'Allemagne ont réagi. El Gobierno español pidió calma. Il "
    "governo italiano tace.",
    "Chinese with Latin": "苹果公司周二在加州发布了新款iPhone 15，起售价为799美元。CEO蒂姆·库克"
    "表示，新机型采用USB-C接口和A17 Pro芯片，将于9月22日上市。",
    "Yoruba": "Ààrẹ orílẹ̀-èdè Nàìjíríà ti bá àwọn olórí ẹgbẹ́ òṣìṣẹ́ sọ̀rọ̀ lórí owó oṣù tó "
    "kéré jùlọ. Wọ́n ní ìpàdé náà yóò tẹ̀síwájú ní ọ̀sẹ̀ tó ń bọ̀, gẹ́gẹ́ bí agbẹnusọ ìjọba "
    "ṣe sọ fún àwọn oníròyìn.",
}


@pytest.mark.parametrize("kind", UNUSUAL)
def test_tables_lists_and_technical_text_are_stored(kind: str) -> None:
    (result,) = judge(HEADER + UNUSUAL[kind].encode())
    assert isinstance(result, Document), result


def test_samples_and_the_bbc_corpus_are_never_gibberish() -> None:
    # The BBC corpus is read only when it is there (../shared); the samples always are.
    paths = SAMPLES + sorted(BBC.glob("*/*.txt"))
    assert len(SAMPLES) == 3
    stored = 0
    for path in paths:
        raw = path.read_bytes()
        if not raw.startswith(b"date"):  # a BBC article: title, blank line, body
            raw = HEADER + raw
        for result in judge(raw, path.name):
            assert isinstance(result, Document), (path, result)
            assert result.language == "en", path
            stored += 1
    assert stored == len(paths)
