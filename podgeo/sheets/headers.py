"""Which pod field a column header names, in the words partners really use.

Partners' sheets come from form tools ("What is the name of your program?"), their own workbooks
("Weekly fee ($)") and their own languages (Spanish, Vietnamese, Chinese, Tagalog, Korean). A
header is normalised (case, accents, plurals, brackets, question words), then tried in order of
confidence: the whole header as a known synonym, the header without question words, a few
word-pair rules ("name" + "program" is the pod's name, "name" + "organization" its operator),
a known synonym inside the header, and last a fuzzy match. Headers about the person filling a
form in (email, phone, contact) map to nothing. Measured by bench/headers.py on
tests/data/header_corpus.csv; each header costs well under a millisecond.
"""
from __future__ import annotations

import functools
import re
import unicodedata

from rapidfuzz import fuzz, process

from podgeo import vocab
from podgeo.sheets.model import GRADE_RANGE

# Field -> synonyms as people write them (normalised when the table is built). The field names
# themselves ("fee_usd" -> "fee usd") are synonyms too; the caller passes them in.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "pod_id": ("id", "site id", "hub id", "pod code", "record id", "unique id", "podid", "pod id"),
    "name": ("name", "site name", "pod name", "hub name", "site", "pod", "hub", "program name", "program",
             "location name", "school", "school name", "library", "library name", "libname", "facility name",
             "center name", "learning pod", "learning hub", "what do you call your pod",
             "nombre", "nombre del programa", "nombre del sitio", "nombre del centro",
             "ten", "ten chuong trinh", "ten dia diem", "ten trung tam",
             "名称", "名稱", "项目名称", "項目名稱", "计划名称", "計劃名稱", "计划名稱", "机构名称",
             "pangalan", "pangalan ng programa", "pangalan ng lugar",
             "이름", "프로그램 이름", "프로그램명", "기관명", "장소명"),
    "operator_type": ("operator type", "program type", "type", "pod type", "hub type", "provider type", "site type",
                      "operator category", "model", "pod model", "which best describes your program", "type of organization", "type of program",
                      "tipo de programa", "tipo de organizacion", "tipo de proveedor", "tipo",
                      "loai chuong trinh", "loai to chuc", "loai hinh",
                      "项目类型", "項目類型", "类型", "類型", "机构类型",
                      "uri ng programa", "uri ng organisasyon", "uri",
                      "프로그램 유형", "유형", "기관 유형"),
    "operator_name": ("operator", "organization", "organisation", "organization name", "organisation name",
                      "provider", "provider name", "run by", "sponsor", "host", "host organization", "agency",
                      "operated by", "lead organization", "who runs the program", "sponsoring organization",
                      "organizacion", "nombre de la organizacion", "proveedor", "agencia",
                      "to chuc", "ten to chuc", "组织", "组织名称", "組織名稱", "机构", "運營機構",
                      "organisasyon", "pangalan ng organisasyon", "운영 기관", "기관"),
    "partner_leaid": ("leaid", "lea id", "nces id", "district id", "nces district id", "partner district id",
                      "partner district leaid", "district leaid", "partner lea"),
    "mode": ("delivery mode", "format", "modality", "instruction mode", "learning mode", "delivery", "setting",
             "in person or virtual", "online or in person", "in person or online", "modalidad", "formato", "hinh thuc hoc", "hinh thuc", "上课方式",
             "방식", "수업 방식"),
    "grade_low": ("lowest grade", "low grade", "min grade", "from grade", "grade from", "start grade", "grade min",
                  "first grade served", "grade lo", "youngest grade", "minimum grade", "grado minimo", "grado mas bajo",
                  "lop thap nhat", "最低年级", "최저 학년"),
    "grade_high": ("highest grade", "high grade", "max grade", "to grade", "grade to", "end grade", "grade max",
                   "last grade served", "grade hi", "oldest grade", "maximum grade", "grado maximo", "grado mas alto",
                   "lop cao nhat", "最高年级", "최고 학년"),
    GRADE_RANGE: ("grades", "grade range", "grade levels", "grade level", "grade span", "grades served",
                    "grade band", "grade", "grades offered", "what grades do you serve", "grados", "grado",
                    "niveles", "khoi lop", "lop", "年级", "年級", "학년", "baitang"),
    "capacity": ("seats", "slots", "spots", "enrollment capacity", "max students", "number of seats", "seat count",
                 "max enrollment", "student capacity", "total seats", "seats available", "capacity",
                 "how many students", "how many children", "how many seats", "maximum number of students",
                 "max number of students", "capacidad", "cupos", "numero de cupos", "cupos disponibles",
                 "suc chua", "so cho", "容量", "名额", "名額", "学位", "kapasidad", "정원", "수용 인원"),
    "cost": ("cost type", "price type", "pricing", "affordability", "cost to families", "fee type", "payment",
             "is there a cost", "free or paid", "costo", "costo para familias", "chi phi", "费用类型", "비용 유형"),
    "fee_usd": ("fee", "fees", "monthly fee", "fee per month", "price", "tuition", "fee usd", "cost per month",
                "monthly cost", "fee amount", "monthly tuition", "monthly price", "weekly fee", "how much does it cost",
                "cuota", "cuota mensual", "precio", "precio mensual", "matricula", "hoc phi", "学费", "學費",
                "bayad", "수업료", "월 비용"),
    "priority_groups": ("priority", "priority group", "populations served", "groups served", "target population",
                        "priority populations", "target groups", "serves", "who do you serve first",
                        "which students get priority", "grupos prioritarios", "prioridad", "poblacion prioritaria",
                        "nhom uu tien", "优先群体", "우선 대상"),
    "supports": ("support", "services", "services offered", "supports offered", "wraparound services",
                 "wraparound supports", "amenities", "what supports do you offer", "servicios", "apoyos",
                 "dich vu", "dich vu ho tro", "服务", "serbisyo", "지원 서비스", "서비스"),
    "languages": ("language", "languages spoken", "language of instruction", "languages offered",
                  "languages supported", "idiomas", "idioma", "lenguaje", "ngon ngu", "语言", "語言", "wika",
                  "언어"),
    "status": ("status", "status type", "site status", "operating status", "open status", "current status",
               "currently open", "estatus", "estado del programa", "situacion", "tinh trang", "trang thai",
               "状态", "狀態", "katayuan", "상태"),
    "opened_on": ("opened", "open date", "date opened", "opening date", "start date", "launch date",
                  "opened date", "date open", "when did the pod open", "fecha de apertura", "fecha de inicio",
                  "ngay mo", "ngay bat dau", "开办日期", "개설일"),
    "closed_on": ("closed date", "close date", "date closed", "closing date", "end date", "fecha de cierre",
                  "ngay dong", "关闭日期", "폐쇄일"),
    "address": ("address", "street", "street address", "address 1", "address line 1", "addr", "location address",
                "site address", "physical address", "address1", "street 1", "location", "direccion",
                "direccion fisica", "calle", "domicilio", "dia chi", "地址", "街道地址", "tirahan", "주소"),
    "city": ("city", "town", "municipality", "city town", "city name", "ciudad", "municipio", "thanh pho",
             "城市", "lungsod", "도시"),
    "state": ("state", "st", "state code", "stabr", "state abbreviation", "state abbr", "state name", "state postal",
              "estado", "tieu bang", "州", "estado o provincia", "주"),
    "zip": ("zip", "zip code", "zipcode", "postal code", "postcode", "zip5", "postal", "codigo postal",
            "ma buu chinh", "ma buu dien", "邮政编码", "郵遞區號", "邮编", "우편번호"),
    "lat": ("lat", "latitude", "y", "lat dd", "latitude dd", "lat wgs84", "latitude wgs84", "y coordinate",
            "latitud", "vi do", "纬度", "緯度", "위도"),
    "lon": ("lon", "long", "lng", "longitude", "x", "longitud", "lon dd", "longitude dd", "lon wgs84",
            "longitude wgs84", "x coordinate", "longhitud", "kinh do", "经度", "經度", "경도"),
    "source": ("source", "data source", "record source", "reported by", "source of record",
               "where did this record come from", "fuente", "nguon", "来源", "출처"),
    "last_verified": ("verified", "verified on", "date verified", "last checked", "last updated", "updated",
                      "last update", "updated on", "as of", "date checked", "last verified on",
                      "last verification", "verification date", "fecha de verificacion", "ultima actualizacion", "ngay cap nhat", "更新日期"),
    "notes": ("notes", "note", "comments", "comment", "remarks", "description", "details", "additional information",
              "anything else we should know", "notas", "comentarios", "observaciones", "ghi chu", "备注", "備註",
              "tala", "비고", "메모"),
}

#: Words that say a header is about the person or the form, not the pod: such a header maps to
#: nothing unless it is itself a known synonym.
_NOT_A_POD_FIELD = frozenset((
    "email e mail correo electronico phone telephone telefono tel cell fax website web url facebook instagram "
    "twitter signature firma contact contacto parent guardian padre madre timestamp filling submitted agree "
    "consent mailing county condado staff mask covid respondent dien thoai lien he telepono 电话 电子邮件 邮件 联系人 "
    "전화번호 이메일 담당자 연락처").split())
_NOT_A_POD_PHRASES = ("your name", "su nombre", "ten ban", "ten cua ban")

# Question and filler words dropped after the whole header failed as a synonym ("What is the
# name of your program?" -> "name program"). Kept short: a word that is sometimes the meaning
# ("to" in "grade to") is tried first with it, since the whole header is looked up first.
_FILLER = frozenset((
    "what which who whom when where why how is are was were do does did the a an of your our their you we "
    "this that these there it its please enter select choose one all apply if any at in on or and for per by "
    "can could should would will with from much many each "
    "cual cuales que quien como es son el la los las del de su sus y o en para por con un una "
    "cua ban la va hoac ng ang mga sa ni at o").split())

#: Word-pair rules: (words one of which must appear, words one of which must also appear, field).
_NAME_WORDS = {"name", "nombre", "pangalan", "ten", "title", "titulo"}
_ORG_WORDS = {"organization", "organisation", "organizacion", "organisasyon", "agency", "agencia", "provider",
              "proveedor", "operator", "sponsor", "company", "empresa", "nonprofit"}
_PLACE_WORDS = {"program", "programme", "programa", "pod", "hub", "site", "sitio", "location", "center", "centre",
                "centro", "school", "escuela", "facility", "lugar", "programang"}
_TYPE_WORDS = {"type", "tipo", "kind", "category", "categoria", "uri", "loai"}
_SEAT_WORDS = {"seat", "slot", "spot", "capacity", "capacidad", "cupo", "kapasidad", "plaza"}
_COUNT_WORDS = {"max", "maximum", "number", "total", "numero", "many", "cuanto", "cuanta", "available"}
_MONEY_WORDS = {"fee", "price", "cost", "tuition", "cuota", "precio", "costo", "matricula", "rate", "charge"}
_PERIOD_WORDS = {"month", "monthly", "week", "weekly", "mensual", "semanal", "hour", "hourly", "day", "daily"}
_CHILD_WORDS = {"student", "child", "children", "kid", "learner", "estudiante", "nino", "alumno"}
_RULES = (
    (_NAME_WORDS, _ORG_WORDS, "operator_name"),
    (_NAME_WORDS, _PLACE_WORDS, "name"),
    (_TYPE_WORDS, _PLACE_WORDS | _ORG_WORDS, "operator_type"),
    (_COUNT_WORDS, _CHILD_WORDS | _SEAT_WORDS, "capacity"),
    (_MONEY_WORDS, _PERIOD_WORDS, "fee_usd"),
)

_MAX_WORDS = 16
_MAX_CHARS = 400
_FUZZY_CUTOFF = 85
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def header_scores(header: str, extra: dict[str, str] | None = None) -> dict[str, float]:
    """Candidate fields for one header with scores 0-100 (100: the whole header is a known synonym).

    `extra` adds {synonym: field} pairs (the caller's field names). Scores order the candidates:
    whole synonym 100, without question words 98, a word-pair rule 95, a synonym inside the
    header 90 (longer inside synonyms first), fuzzy at most 89.
    """
    extra_key = tuple(sorted((extra or {}).items()))
    table = _table(extra_key)
    header = str(header)[:_MAX_CHARS]  # a header is a few words: a long cell costs no more than this
    words = [w[:_MAX_CHARS // 4] for w in normalise(header).split()[:_MAX_WORDS]]
    if not words:
        bracket = _bracketed(header)
        return header_scores(bracket, extra) if bracket else {}
    key = " ".join(words)
    if key in table:
        return {table[key]: 100.0}
    if _NOT_A_POD_FIELD.intersection(words) or any(p in key for p in _NOT_A_POD_PHRASES):
        return {}
    core = [w for w in words if w not in _FILLER] or words
    core_key = " ".join(core)
    if core_key in table:  # a lone generic word left by a question ("Who is the program for?") says nothing
        return {table[core_key]: 98.0} if len(core) > 1 or core_key not in _GENERIC else {}
    found = set(words)
    if "$" in str(header) or "usd" in found:
        if found & _MONEY_WORDS:
            return {"fee_usd": 95.0}
    for first, second, target in _RULES:
        if found & first and found & second:
            return {target: 95.0}
    inside = _inside(core, table) or _inside_han(key, table)
    if inside:
        return inside
    if len(core_key) < 4:
        return {}
    scores: dict[str, float] = {}
    choices = _fuzzy_choices(extra_key)
    for scorer in (fuzz.ratio, fuzz.token_sort_ratio):
        for synonym, score, _ in process.extract(core_key[:200], choices, scorer=scorer, limit=5,
                                                 score_cutoff=_FUZZY_CUTOFF):
            target = table[synonym]
            scores[target] = max(scores.get(target, 0.0), min(score, 89.0))
    if not scores:
        bracket = _bracketed(header)
        return header_scores(bracket, extra) if bracket else {}
    return scores


def normalise(text: str) -> str:
    """Lower-case words: brackets and punctuation dropped, camelCase split, Latin accents folded, plurals singular.

    Letters of other scripts (Hangul, Han, Cyrillic...) are kept as they are, so "주소" stays a word.
    """
    text = re.sub(r"\([^)]*\)|\[[^\]]*\]", " ", str(text))
    text = re.sub(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", text)
    text = fold(text).replace("#", " number ")
    words = re.sub(r"[\W_]+", " ", text).split()
    return " ".join(vocab.singular(w) for w in words if w not in {"optional", "required"})


def fold(text: str) -> str:
    """Case-folded text with Latin accents removed ("Dirección" -> "direccion", "Địa" -> "dia"); other scripts kept."""
    text = unicodedata.normalize("NFKC", text).casefold().replace("đ", "d").replace("ø", "o").replace("ł", "l")
    decomposed = unicodedata.normalize("NFKD", text)
    kept = "".join(c for c in decomposed if not unicodedata.combining(c))
    return unicodedata.normalize("NFC", kept)


@functools.lru_cache(maxsize=4)
def _table(extra: tuple[tuple[str, str], ...]) -> dict[str, str]:
    """Normalised synonym -> field; a synonym's form without question words is added too."""
    table: dict[str, str] = {}
    for synonym, target in extra:
        table.setdefault(normalise(synonym), target)
    for target, names in SYNONYMS.items():
        for synonym in names:
            table.setdefault(normalise(synonym), target)
    for synonym, target in list(table.items()):
        core = " ".join(w for w in synonym.split() if w not in _FILLER)
        if len(synonym.split()) >= 3 and core:  # question-like synonyms; "y coordinate" is not "coordinate"
            table.setdefault(core, target)
    table.pop("", None)
    return table


def _inside(words: list[str], table: dict[str, str]) -> dict[str, float]:
    """The longest run of words that is a synonym ("Site address" -> address); short generic words never count."""
    for size in range(len(words) - 1, 0, -1):
        for start in range(len(words) - size + 1):
            phrase = " ".join(words[start:start + size])
            if phrase in table and (size > 1 or len(phrase) >= 4 or not phrase.isascii()) \
                    and phrase not in _GENERIC:
                return {table[phrase]: 90.0 - 0.1 * (len(words) - size)}
    return {}


def _inside_han(key: str, table: dict[str, str]) -> dict[str, float]:
    """Chinese has no spaces: the longest Han synonym (2+ characters) inside the header."""
    if not _HAN.search(key):
        return {}
    best = max((s for s in table if len(s) >= 2 and _HAN.search(s) and s in key), key=len, default=None)
    return {table[best]: 90.0} if best else {}


#: Synonyms too general to count when found inside a longer header ("Name of person...", "Days open").
_GENERIC = frozenset(("name", "nombre", "pangalan", "site", "program", "pod", "hub", "school", "location", "type",
                      "tipo", "model", "setting", "delivery", "status", "estado",
                      "open", "id", "host", "library", "street", "price", "priority", "serve", "lop", "nombre",
                      "uri", "tala", "long", "state", "date", "fee"))


def _bracketed(header: str) -> str:
    """The text inside a header's brackets ("Y (lat)" -> "lat"), tried when the rest names nothing."""
    return " ".join(re.findall(r"\(([^)]*)\)|\[([^\]]*)\]", str(header)) and
                    [a or b for a, b in re.findall(r"\(([^)]*)\)|\[([^\]]*)\]", str(header))])


@functools.lru_cache(maxsize=4)
def _fuzzy_choices(extra: tuple[tuple[str, str], ...]) -> tuple[str, ...]:
    """Synonyms worth a fuzzy match: Latin-script, 4+ characters (a typo in "st" or "名称" means nothing)."""
    return tuple(s for s in _table(extra) if len(s) >= 4 and s.isascii())
