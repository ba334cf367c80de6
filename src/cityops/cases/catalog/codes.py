"""Category codes of cases: `<kind>:<key>` over the three shipped catalogues."""

from __future__ import annotations

from cityops.cases.catalog.shipped import Category, Kind, UnknownCategoryError, shipped_catalog


def category_code(category: Category) -> str:
    """The code a case stores: kind and key, e.g. "component:0101" or "hotline:03"."""
    return f"{category.kind.value}:{category.key}"


def all_categories() -> list[Category]:
    """Every shipped category, components then events then hotline types."""
    return [c for kind in Kind for c in shipped_catalog(kind)]


def find_category(text: str) -> Category:
    """The category of a code ("event:0102") or of a name or alias unique across catalogues."""
    value = text.strip()
    kind_text, sep, key = value.partition(":")
    if sep:
        try:
            kind = Kind(kind_text)
        except ValueError:
            raise UnknownCategoryError(f"unknown category kind {kind_text!r}") from None
        return shipped_catalog(kind).get(key)
    hits: list[Category] = []
    for kind in Kind:
        try:
            hits.append(shipped_catalog(kind).find(value))
        except UnknownCategoryError:
            continue
    if len(hits) == 1:
        return hits[0]
    if hits:
        codes = ", ".join(category_code(c) for c in hits)
        raise UnknownCategoryError(f"{value!r} is ambiguous ({codes}): give the code")
    raise UnknownCategoryError(f"no category with code or name {value!r}")
