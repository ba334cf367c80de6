"""Case categories as data (部件, 事件, 12345 request types), their codes and time limits."""

from cityops.cases.catalog.codes import all_categories, category_code, find_category
from cityops.cases.catalog.shipped import (
    Category,
    Kind,
    LoopLevel,
    TimeLimit,
    UnknownCategoryError,
    shipped_catalog,
)

__all__ = [
    "Category",
    "Kind",
    "LoopLevel",
    "TimeLimit",
    "UnknownCategoryError",
    "all_categories",
    "category_code",
    "find_category",
    "shipped_catalog",
]
