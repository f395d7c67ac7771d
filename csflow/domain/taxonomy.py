"""The configured taxonomy (docs/policy.md `[taxonomy]`): each category's sub-types, with
the department that usually handles them, the skills a handler needs, and whether they
count as major or routine service.

Free-text sub-types fragmented the reports ("logistics", "Logistics", "物流", "shipping"
as four "top issues"). Where the policy lists a category's sub-types, only those are
accepted — matched case-insensitively and stored under their configured spelling — and a
category can require one; the refusal lists the allowed names. A category without
configured sub-types keeps accepting free text.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from csflow.domain.codes import Category


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SubType(_Model):
    department: Annotated[str, Field(max_length=64)] | None = None
    skills: tuple[Annotated[str, Field(min_length=1, max_length=64)], ...] = ()
    service_class: Literal["major", "routine"] = Field(default="routine", alias="class")

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
    )


class CategoryTaxonomy(_Model):
    required: bool = False  # an intake of this category must name one of `sub_types`
    sub_types: dict[Annotated[str, Field(min_length=1, max_length=64)], SubType] = Field(
        default_factory=dict
    )


class Taxonomy(_Model):
    categories: dict[Category, CategoryTaxonomy] = Field(default_factory=dict)

    def find(self, category: Category, sub_type: str | None) -> tuple[str, SubType] | None:
        """The configured sub-type (its canonical name) that `sub_type` names."""
        tax = self.categories.get(category)
        if tax is None or sub_type is None:
            return None
        wanted = sub_type.strip().casefold()
        for name, spec in tax.sub_types.items():
            if name.casefold() == wanted:
                return name, spec
        return None

    def problem(self, category: Category, sub_type: str | None) -> str | None:
        """Why this intake's sub-type is refused, or None."""
        tax = self.categories.get(category)
        if tax is None or not tax.sub_types:
            return None
        allowed = ", ".join(sorted(tax.sub_types))
        if sub_type is None or not sub_type.strip():
            if tax.required:
                return f"sub_type is required for {category.value}: one of {allowed}"
            return None
        if self.find(category, sub_type) is None:
            return f"sub_type {sub_type!r} is not a {category.value} sub-type; one of {allowed}"
        return None

    def canonical(self, category: Category, sub_type: str | None) -> str | None:
        found = self.find(category, sub_type)
        return found[0] if found else sub_type

    def declared_major(self, category: Category, sub_type: str | None) -> bool:
        found = self.find(category, sub_type)
        return found is not None and found[1].service_class == "major"

    def skills(self, category: Category, sub_type: str | None) -> tuple[str, ...]:
        found = self.find(category, sub_type)
        return found[1].skills if found else ()
