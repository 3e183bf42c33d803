from __future__ import annotations

from ckan.logic.schema import validator_args
from ckan.types import Schema, Validator, ValidatorFactory

from ckanext.mel.enrolment import Status


@validator_args
def enrolment_create_schema(
    not_empty: Validator,
    ignore_missing: Validator,
    unicode_safe: Validator,
    isodate: Validator,
    mel_commune_id: Validator,
    mel_as_date: Validator,
) -> Schema:
    return {
        "organization": [not_empty, unicode_safe, mel_commune_id],
        "start_date": [ignore_missing, isodate, mel_as_date],
        "end_date": [ignore_missing, isodate, mel_as_date],
        "reason": [ignore_missing, unicode_safe],
    }


@validator_args
def enrolment_show_schema(
    not_empty: Validator,
    unicode_safe: Validator,
    mel_commune_id: Validator,
    ignore_missing: Validator,
    boolean_validator: Validator,
) -> Schema:
    return {
        "organization": [not_empty, unicode_safe, mel_commune_id],
        "include_history": [ignore_missing, boolean_validator],
    }


@validator_args
def enrolment_list_schema(ignore_missing: Validator, one_of: ValidatorFactory) -> Schema:
    return {"status": [ignore_missing, one_of([s.value for s in Status])]}


@validator_args
def enrolment_extend_schema(
    not_empty: Validator,
    ignore_missing: Validator,
    unicode_safe: Validator,
    isodate: Validator,
    natural_number_validator: Validator,
    mel_commune_id: Validator,
    mel_as_date: Validator,
) -> Schema:
    return {
        "organization": [not_empty, unicode_safe, mel_commune_id],
        "months": [ignore_missing, natural_number_validator],
        "until": [ignore_missing, isodate, mel_as_date],
        "reason": [ignore_missing, unicode_safe],
    }


@validator_args
def enrolment_change_schema(
    not_empty: Validator, ignore_missing: Validator, unicode_safe: Validator, mel_commune_id: Validator
) -> Schema:
    return {
        "organization": [not_empty, unicode_safe, mel_commune_id],
        "reason": [ignore_missing, unicode_safe],
    }


@validator_args
def quota_show_schema(not_empty: Validator, unicode_safe: Validator, mel_commune_id: Validator) -> Schema:
    return {"organization": [not_empty, unicode_safe, mel_commune_id]}


@validator_args
def quota_set_schema(
    not_empty: Validator,
    ignore_missing: Validator,
    unicode_safe: Validator,
    natural_number_validator: Validator,
    mel_commune_id: Validator,
) -> Schema:
    return {
        "organization": [not_empty, unicode_safe, mel_commune_id],
        "maximum": [not_empty, natural_number_validator],
        "reason": [ignore_missing, unicode_safe],
    }


@validator_args
def validation_schema(not_empty: Validator, unicode_safe: Validator, resource_id_exists: Validator) -> Schema:
    return {"id": [not_empty, unicode_safe, resource_id_exists]}


@validator_args
def quality_show_schema(
    ignore_missing: Validator,
    unicode_safe: Validator,
    package_id_or_name_exists: Validator,
    group_id_or_name_exists: Validator,
) -> Schema:
    return {
        "id": [ignore_missing, unicode_safe, package_id_or_name_exists],
        "organization": [ignore_missing, unicode_safe, group_id_or_name_exists],
    }
