from __future__ import annotations

from ckan.logic.schema import validator_args
from ckan.types import Schema, Validator, ValidatorFactory

from ckanext.mel.enrolment import Status

# The largest quota a commune can be granted, and the longest extension at once:
# beyond them a value is a typing error (and would overflow the database column).
MAX_QUOTA = 10_000
MAX_MONTHS = 1_200


@validator_args
def enrolment_create_schema(
    not_empty: Validator,
    ignore_missing: Validator,
    unicode_safe: Validator,
    mel_string: Validator,
    mel_commune_id: Validator,
    mel_iso_date: Validator,
) -> Schema:
    return {
        "organization": [not_empty, mel_string, unicode_safe, mel_commune_id],
        "start_date": [ignore_missing, mel_string, mel_iso_date],
        "end_date": [ignore_missing, mel_string, mel_iso_date],
        "reason": [ignore_missing, mel_string, unicode_safe],
    }


@validator_args
def enrolment_show_schema(
    not_empty: Validator,
    unicode_safe: Validator,
    mel_commune_id: Validator,
    ignore_missing: Validator,
    mel_boolean: Validator,
    mel_string: Validator,
) -> Schema:
    return {
        "organization": [not_empty, mel_string, unicode_safe, mel_commune_id],
        "include_history": [ignore_missing, mel_boolean],
    }


@validator_args
def enrolment_list_schema(
    ignore_missing: Validator, mel_string: Validator, one_of: ValidatorFactory
) -> Schema:
    return {"status": [ignore_missing, mel_string, one_of([s.value for s in Status])]}


@validator_args
def enrolment_extend_schema(
    not_empty: Validator,
    ignore_missing: Validator,
    unicode_safe: Validator,
    int_validator: Validator,
    mel_int_in_range: ValidatorFactory,
    mel_string: Validator,
    mel_commune_id: Validator,
    mel_iso_date: Validator,
) -> Schema:
    return {
        "organization": [not_empty, mel_string, unicode_safe, mel_commune_id],
        "months": [ignore_missing, int_validator, mel_int_in_range(1, MAX_MONTHS)],
        "until": [ignore_missing, mel_string, mel_iso_date],
        "reason": [ignore_missing, mel_string, unicode_safe],
    }


@validator_args
def enrolment_change_schema(
    not_empty: Validator,
    ignore_missing: Validator,
    unicode_safe: Validator,
    mel_string: Validator,
    mel_commune_id: Validator,
) -> Schema:
    return {
        "organization": [not_empty, mel_string, unicode_safe, mel_commune_id],
        "reason": [ignore_missing, mel_string, unicode_safe],
    }


@validator_args
def quota_show_schema(
    not_empty: Validator, unicode_safe: Validator, mel_string: Validator, mel_commune_id: Validator
) -> Schema:
    return {"organization": [not_empty, mel_string, unicode_safe, mel_commune_id]}


@validator_args
def quota_set_schema(
    not_empty: Validator,
    ignore_missing: Validator,
    unicode_safe: Validator,
    int_validator: Validator,
    mel_int_in_range: ValidatorFactory,
    mel_string: Validator,
    mel_commune_id: Validator,
) -> Schema:
    return {
        "organization": [not_empty, mel_string, unicode_safe, mel_commune_id],
        "maximum": [not_empty, int_validator, mel_int_in_range(0, MAX_QUOTA)],
        "reason": [ignore_missing, mel_string, unicode_safe],
    }


@validator_args
def validation_schema(
    not_empty: Validator, unicode_safe: Validator, mel_string: Validator, resource_id_exists: Validator
) -> Schema:
    return {"id": [not_empty, mel_string, unicode_safe, resource_id_exists]}


@validator_args
def quality_show_schema(
    ignore_missing: Validator,
    unicode_safe: Validator,
    mel_string: Validator,
    package_id_or_name_exists: Validator,
    group_id_or_name_exists: Validator,
) -> Schema:
    return {
        "id": [ignore_missing, mel_string, unicode_safe, package_id_or_name_exists],
        "organization": [ignore_missing, mel_string, unicode_safe, group_id_or_name_exists],
    }
