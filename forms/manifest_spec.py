"""The 清册 component every business reuses: what a business declares about its 清册
(columns, change types, who a row is about, how single entry picks them, the texts users
read) and the checks every entry goes through, one row or a file of them.

A business subclasses `ManifestSpec`, declares its columns and implements `check_row`
(and `lookup` when its rows are not about this unit's existing accounts; `check_rows`
when one entry makes several rows). Everything
else here, in forms/manifest_file.py, engine/manifests.py and the 清册 panel, is generic:
it names no business and no business's field.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from services import clock, persons
from services.errors import InvalidInput
from services.identifiers import is_valid_person_account
from services.manifest_rows import NewRow, left_out
from services.money import fmt
from services.months import YearMonth
from services.policy import Policy
from services.text import half_width

if TYPE_CHECKING:  # a file's rows as manifest_file reads them
    from .manifest_file import FileRows

#: How often (in rows) a file's check tells its progress.
PROGRESS_ROWS = 1000


@dataclass(frozen=True)
class Column:
    """One 清册 column. `kind` says how a value is read: text, code (an account number or
    similar, kept as typed), id_number, mobile, money, rate, month; `info` columns are only
    shown back (a name, the current base) and never read."""

    name: str
    header: str
    kind: str = "text"
    required: bool = False
    #: A code list (value, label): a dropdown in the template and single entry; imports
    #: accept the code or the label.
    codes: Callable[[Context], list[tuple[str, str]]] | None = None
    width: int = 18
    note: str = ""
    #: What a blank optional value means, as single entry says it (“默认（12%）”); None:
    #: the first option.
    default: Callable[[Context], str] | None = None
    #: Read only to cross-check the row (e.g. 姓名 against 个人账号); a row whose other
    #: inputs are all blank is skipped even if this is filled (prefilled templates).
    cross_check: bool = False
    #: The empty choice of an optional code list in single entry (default: “默认（…）”).
    blank: str = ""
    #: Single entry suggests values as the user types (at least 2 characters): an endpoint
    #: answering {"items": [...]} for ?q=, and the item keys of the value and its label
    #: (e.g. a unit found by its name fills its 单位账号). Never a list of everything.
    suggest: tuple[str, str, str] | None = None

    @property
    def is_input(self) -> bool:
        return self.kind != "info"

    @property
    def carries_change(self) -> bool:
        return self.is_input and not self.cross_check


@dataclass(frozen=True)
class ChangeType:
    key: str
    label: str
    columns: tuple[str, ...]
    #: The picker's filters while this type is chosen, when they differ from the
    #: picker's own (e.g. 启封 picks sealed persons, 封存 active ones).
    picker_params: tuple[tuple[str, str], ...] | None = None
    #: Offered for single entry too; False: files only (e.g. one that mixes the other
    #: types, each row naming its own).
    entry: bool = True


@dataclass(frozen=True)
class Picker:
    """How single entry picks who a row is about: a search of the unit's persons (the
    persons API, with `params` as filters) that fills `field`, and what it shows back."""

    field: str = "person_account"
    label: str = "个人账号"
    params: tuple[tuple[str, str], ...] = (("status", "01"),)
    #: (persons API field, label, kind: text | money | rate) shown once a person is picked.
    showback: tuple[tuple[str, str, str], ...] = (
        ("name", "姓名", "text"), ("id_number", "证件号码", "text"))
    empty: str = "没有找到符合条件的职工"
    placeholder: str = "输入个人账号、姓名或证件号码"
    #: The endpoint searched (a JSON list of persons, as the persons API answers).
    source: str = "api_units.list_persons"
    #: Other single-entry inputs whose values the search sends along (by name).
    with_fields: tuple[str, ...] = ()
    #: Fill the single-entry inputs with the picked person's values of the same name (a
    #: change of registered information starts from what is registered).
    fills: bool = False


@dataclass
class Context:
    """What row checks need to know, read once for a batch of rows."""

    unit_id: int
    unit_rate: Decimal
    unit_person_rate: Decimal
    unit_status: str
    policy: Policy
    due_month: YearMonth
    #: 缴至年月, and the latest month verified (汇缴核定), paid or not.
    paid_through: YearMonth | None
    latest_verified: YearMonth | None
    current_month: YearMonth
    today: date
    instance_id: int | None
    #: Who the rows are about, as `ManifestSpec.lookup` found them, by key column value.
    subjects: dict = field(default_factory=dict)
    #: Anything else a business reads once (e.g. the other unit of a transfer).
    extra: dict = field(default_factory=dict)


class RowError(Exception):
    """Problems of one row, as {column name: message}."""

    def __init__(self, problems: dict[str, str]):
        super().__init__(problems)
        self.problems = problems


class ManifestSpec:
    """Subclass per business: set the class attributes and implement `check_row`."""

    business: str
    #: 基数调整清册, 开户清册…
    title: str
    columns: tuple[Column, ...]
    change_types: tuple[ChangeType, ...]
    #: The 清册 table as shown: (stored field, header, kind: text | money | rate).
    display: tuple[tuple[str, str, str], ...]
    #: The input that says who a row is about; a file's rows are looked up by it.
    key_column = "person_account"
    #: A row field that may name the change type instead of `change_type` (API rows).
    change_type_field: str | None = None
    picker: Picker | None = Picker()
    #: Texts users read: after a single entry ({name} etc. from the row's values), when
    #: the 清册 is empty, and the same person twice.
    added_text = "录入清册成功：{name}"
    empty_text = "清册为空：请单个录入或批量导入"
    in_this_manifest = "该职工已在清册中，如需修改请先删除原记录"
    in_other_application = "该职工已在另一笔未办结的同类业务中，请先办结或结束该业务"
    #: The template's sheet of instructions, after the common lines.
    notes: tuple[str, ...] = ()
    #: Whether the unit ticks the rows its submission applies to (manual: 在清册中选择…
    #: 点击【确定】): the task's data then carries `rows` (ticked) and `shown_rows` (the
    #: rows its page listed); rows not listed count as ticked. See `chosen_rows`.
    selectable = False
    #: Whether a template can come prefilled with the unit's persons (`prefill`); rows of
    #: it left unfilled are then skipped on import, not refused.
    prefillable = False
    #: The single-entry button.
    entry_label = "录入清册"
    #: What the 清册's count counts (共 N 人; 共 N 项 for field changes).
    count_unit = "人"

    # -- what a business implements ------------------------------------------------------

    def check_row(self, ctx: Context, values: dict, change_type: ChangeType) -> NewRow:
        raise NotImplementedError

    def check_columns(self, ctx: Context, rows: FileRows, change_type: ChangeType,
                      progress: Callable[[int], None] | None = None) -> list[NewRow] | None:
        """A file's rows all at once, when checking a column at a time can tell that every
        row passes `check_row` (and none repeats another's key): the rows it makes, each
        with its `source_row`, telling `progress(rows)` every PROGRESS_ROWS rows made. None
        (the default, and whenever any row might not pass): `check_row` then checks row by
        row and names each problem."""
        return None

    def lookup(self, ctx: Context, keys: list[str]) -> dict:
        """Who the rows are about, by key column value: by default this unit's accounts."""
        return persons.refs_by_account(ctx.unit_id, keys)

    def prepare(self, ctx: Context, start_data: dict) -> None:
        """Read once per batch what this business's checks need beyond the unit."""

    def prefill(self, ctx: Context) -> list[dict]:
        """Rows of a prefilled template, by column name (none by default)."""
        return []

    def check_rows(self, ctx: Context, values: dict, change_type: ChangeType) -> list[NewRow]:
        """The 清册 rows one entry makes: by default the one `check_row` makes; a change of
        registered information makes one row per changed field."""
        return [self.check_row(ctx, values, change_type)]

    def locked(self, ctx: Context) -> set[str]:
        """Columns single entry shows greyed (置灰) with their `entry_values`: never typed,
        and refused by the checks if sent changed."""
        return set()

    def entry_values(self, ctx: Context) -> dict[str, str]:
        """What single entry's inputs start with (by default nothing)."""
        return {}

    # -- generic ------------------------------------------------------------------------

    def own_account(self, ctx: Context, values: dict, problems: dict):
        """The unit's person account a row names by 个人账号 (as `lookup` found it), with
        the check digit and an optional cross-checked 姓名 verified; None, the problem
        noted by field, otherwise."""
        number = required(values, "person_account", "个人账号", problems)
        if not number:
            return None
        account = ctx.subjects.get(number)
        if not is_valid_person_account(number):
            problems["person_account"] = "个人账号有误（应为 12 位数字且校验位正确），请核对"
        elif account is None:
            problems["person_account"] = "本单位没有该个人账号"
        elif (name := values.get("name") or "") and name != account.name:
            problems["name"] = f"姓名与个人账号不符（该账号的职工为 {account.name}）"
        else:
            return account
        return None

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    def change_type(self, key: str | None, entry: bool = False) -> ChangeType:
        """The change type `key` names (the first by default); `entry`: of single entry."""
        offered = [c for c in self.change_types if c.entry or not entry]
        for change_type in offered:
            if change_type.key == (key or self.change_types[0].key):
                return change_type
        raise InvalidInput("变更类别无效", {"change_type": [
            "须为以下之一：" + "、".join(f"{c.key}（{c.label}）" for c in offered)]})

    def entry_fields(self, ctx: Context) -> list[dict]:
        """The single-entry inputs besides the picker, with the change types using each
        and the options of code-list columns."""
        skip = self.picker.field if self.picker else None
        locked, start = self.locked(ctx), self.entry_values(ctx)
        return [{"name": c.name, "label": c.header, "kind": c.kind, "required": c.required,
                 "note": c.note, "options": c.codes(ctx) if c.codes else [],
                 "blank": c.blank, "locked": c.name in locked, "value": start.get(c.name, ""),
                 "default": c.default(ctx) if c.default else None, "suggest": c.suggest,
                 "change_types": [t.key for t in self.change_types if c.name in t.columns]}
                for c in self.columns if c.carries_change and c.name != skip]

    def normalized(self, values: dict) -> dict:
        """Typed values as text: trimmed, full-width forms made ASCII (input methods type
        them), code-list labels turned into their codes."""
        result = {}
        for name, value in values.items():
            text = "" if value is None else half_width(str(value)).strip()
            try:
                column = self.column(name)
            except StopIteration:
                result[name] = text
                continue
            result[name] = text.upper() if column.kind == "id_number" else text
        return result

    def check_one(self, ctx: Context, values: dict, change_type: ChangeType) -> list[NewRow]:
        """Single entry (录入清册): errors come back by field name."""
        values = self.normalized(values)
        ctx.subjects = self.lookup(ctx, [values.get(self.key_column, "")])
        try:
            return self.check_rows(ctx, values, change_type)
        except RowError as exc:  # each message names its field
            raise InvalidInput("录入的数据有误：" + "；".join(exc.problems.values()),
                               {k: [m] for k, m in exc.problems.items()}) from None

    def check_many(self, ctx: Context, rows: FileRows, change_type: ChangeType,
                   problems: list[dict] | None = None,
                   progress: Callable[[int], None] | None = None
                   ) -> tuple[list[NewRow], list[dict]]:
        """A file's rows: the rows that passed, and every problem of the others (with
        `problems` found while reading it), as (row, column, message); any problem means
        nothing is stored. The same person twice in the file is an error of the later row.
        `progress(rows)` hears every PROGRESS_ROWS rows checked."""
        ctx.subjects = self.lookup(ctx, rows.column(self.key_column))
        if not problems and (made := self.check_columns(ctx, rows, change_type, progress)
                             ) is not None:
            if progress:
                progress(len(rows))
            return made, []
        errors = list(problems or [])
        read_badly = {(e["row"], e["column"]) for e in errors}
        checked: list[NewRow] = []
        seen: dict[str, int] = {}
        for done, (row_no, values) in enumerate(rows, start=1):
            if progress and not done % PROGRESS_ROWS:
                progress(done)
            try:
                made = self.check_rows(ctx, values, change_type)
                for row in made:
                    if row.key in seen:
                        raise RowError({self.key_column: f"与第 {seen[row.key]} 行重复"})
                for row in made:
                    seen[row.key] = row_no
                    row.source_row = row_no
                checked.extend(made)
            except RowError as exc:
                errors.extend(e for e in self.row_errors(row_no, exc.problems)
                              if (e["row"], e["column"]) not in read_badly)
        return checked, errors

    def added_message(self, values: dict, count: int) -> str:
        """`added_text` for a stored row, its money as the 清册 shows it (1,760.00)."""
        money = {name for name, _, kind in self.display if kind == "money"}
        shown = {name: _money_text(value) if name in money else value
                 for name, value in values.items()}
        return self.added_text.format_map(_Blank(shown, count=count))

    def row_errors(self, row_no: int, problems: dict[str, str]) -> list[dict]:
        headers = {c.name: c.header for c in self.columns}
        return [{"row": row_no, "column": headers.get(name, name), "message": message}
                for name, message in problems.items()]

    @staticmethod
    def file_refused(errors: list[dict]) -> InvalidInput:
        errors.sort(key=lambda e: e["row"])
        return InvalidInput(f"导入文件有 {len({e['row'] for e in errors})} 行数据有误，"
                            "未导入任何数据，请修改后重新上传", errors)


class _Blank(dict):
    """Values for a text's fields; a field the row lacks is blank."""

    def __missing__(self, key: str) -> str:
        return ""


def _money_text(value: object) -> object:
    try:
        return fmt(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        return value


def chosen_rows(rows: list, data: dict) -> list:
    """The rows a submission applies to (see `manifest_rows.left_out`)."""
    out = left_out(data, lambda: {r.id for r in rows})
    return [r for r in rows if r.id not in out] if out else rows


def required(values: dict, name: str, header: str, problems: dict) -> str:
    """The typed value of a required field, or '' with “<header>为必填项” noted."""
    text = values.get(name) or ""
    if not text:
        problems[name] = f"{header}为必填项"
    return text


def checked(problems: dict, name: str, header: str, values: dict, check):
    """`check(text)` of a required field; its ValueError becomes the field's problem."""
    text = values.get(name)
    if not text:  # as `required` (not called: this runs for every cell of an import)
        problems[name] = f"{header}为必填项"
        return None
    try:
        return check(text)
    except ValueError as exc:
        problems[name] = str(exc)
        return None


def code_of(options: list[tuple[str, str]], text: str) -> str | None:
    """The code a typed value means: the code itself, its label, or both (“01 离职”); a
    numeric code a spreadsheet cell turned into a number (01 → 1) too."""
    for value, label in options:
        if text in (value, label, f"{value} {label}"):
            return value
    if text.isdigit():
        return next((value for value, _ in options
                     if value.isdigit() and text.zfill(len(value)) == value), None)
    return None


def build_context(spec: ManifestSpec, unit_id: int, instance_id: int | None,
                  start_data: dict | None = None, today: date | None = None) -> Context:
    """The unit's policy, rates and months, read once for a batch of rows."""
    from services.units import unit_facts

    unit = unit_facts(unit_id)
    day = today or clock.today()
    ctx = Context(unit_id=unit_id, unit_rate=unit.unit_rate, unit_person_rate=unit.person_rate,
                  unit_status=unit.status, policy=unit.policy, due_month=unit.due_month,
                  paid_through=unit.paid_through, latest_verified=unit.latest_verified,
                  current_month=YearMonth.of(day), today=day, instance_id=instance_id)
    spec.prepare(ctx, start_data or {})
    return ctx
