"""/v1/credentials: the organization's saved credentials (passwords, cards, secrets).

The values are sealed under the master key (the credential's id is the sealing context, so a
sealed blob cannot be moved to another credential) and are never answered: a response shows
only the username and 2FA method of a password, the last four digits and brand of a card, and
the label of a secret. Runs use them through `{{secret:<credential_id>.<field>}}` placeholders,
opened only when the browser types them.
"""

from __future__ import annotations

import json
from typing import Annotated

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from altostratus.api.auth import caller
from altostratus.api.errors import BadRequestError, ConflictError, NotFoundError, UnprocessableError
from altostratus.api.openapi import AUTH_ERRORS, BODY_ERRORS, responses
from altostratus.api.paging import PageNumber, PageSize
from altostratus.api.services import ApiServices
from altostratus.domain import credentials as dc
from altostratus.ports.credentials import CredentialStore, StoredCredential
from altostratus.ports.errors import SequenceConflictError
from altostratus.wire.credentials import (
    CredentialCreate,
    CredentialResponse,
    CreditCardCredential,
    PasswordCredential,
    SecretCredential,
)

NOT_FOUND = "Credential not found"
NOT_KEPT = "This deployment keeps no credentials."


def _shown(body: CredentialCreate) -> dict[str, str | None]:
    value = body.credential
    if isinstance(value, PasswordCredential):
        return {
            "username": value.username,
            "totp_type": value.totp_type,
            "totp_identifier": value.totp_identifier,
        }
    if isinstance(value, CreditCardCredential):
        return {"last_four": value.card_number.replace(" ", "")[-4:], "brand": value.card_brand}
    return {"secret_label": value.secret_label}


def _check_shape(body: CredentialCreate) -> None:
    expected = {
        "password": PasswordCredential,
        "credit_card": CreditCardCredential,
        "secret": SecretCredential,
    }
    if not isinstance(body.credential, expected[body.credential_type]):
        raise UnprocessableError.field(
            ["body", "credential"],
            f"the credential's fields are not those of a {body.credential_type} credential",
        )
    value = body.credential
    if isinstance(value, PasswordCredential) and value.totp and dc.totp_secret_refusal(value.totp):
        raise UnprocessableError.field(
            ["body", "credential", "totp"], dc.totp_secret_refusal(value.totp) or ""
        )


def answer(stored: StoredCredential) -> CredentialResponse:
    return CredentialResponse.model_validate(
        {
            "credential_id": stored.credential_id,
            "credential": stored.shown,
            "credential_type": stored.credential_type,
            "name": stored.name,
            "tested_url": stored.tested_url,
        }
    )


def vault_router(services: ApiServices) -> Router:
    router = Router()

    def store() -> CredentialStore:
        if services.credentials is None:
            raise BadRequestError(NOT_KEPT)
        return services.credentials

    def own(credential_id: str) -> StoredCredential:
        found = store().get(caller(router).org_id, credential_id)
        if found is None:
            raise NotFoundError(NOT_FOUND)
        return found

    def sealed(credential_id: str, body: CredentialCreate) -> str:
        values = body.credential.model_dump(mode="json", exclude_none=True)
        return services.secret_box.seal(json.dumps(values), context=credential_id)

    @router.post(
        "/v1/credentials",
        summary="Create a credential",
        description="Save a password, a credit card or a secret. Its values are sealed and never shown "
        "again; runs type them through placeholders.",
        tags=["credentials"],
        operation_id="create_credential",
        responses=responses(
            "The saved credential (no secret in it).", *BODY_ERRORS, *AUTH_ERRORS, ok_status=201
        ),
    )
    def create_credential(body: CredentialCreate) -> Response[CredentialResponse]:
        principal = caller(router)
        _check_shape(body)
        now = services.clock.now()
        credential_id = services.ids.new("cred")
        stored = StoredCredential(
            credential_id=credential_id,
            org_id=principal.org_id,
            name=body.name,
            credential_type=body.credential_type,
            created_at=now,
            modified_at=now,
            sealed=sealed(credential_id, body),
            shown=_shown(body),
            tested_url=body.tested_url,
        )
        store().create(stored)
        return Response(
            status_code=201,
            content_type=content_types.APPLICATION_JSON,
            body=answer(stored),
        )

    @router.get(
        "/v1/credentials",
        summary="List credentials",
        description="The organization's credentials, newest first (no secret in them).",
        tags=["credentials"],
        operation_id="get_credentials",
        responses=responses("A page of credentials.", *AUTH_ERRORS),
    )
    def get_credentials(
        page: PageNumber = 1,
        page_size: PageSize = 10,
        credential_type: Annotated[str | None, Query()] = None,
        vault_type: Annotated[str | None, Query()] = None,
        search: Annotated[str | None, Query()] = None,
    ) -> list[CredentialResponse]:
        org_id = caller(router).org_id
        if vault_type not in (None, "skyvern"):
            return []
        if credential_type is None and not search:
            found = store().list(org_id, offset=(page - 1) * page_size, limit=page_size)
            return [answer(c) for c in found]
        # Filtered: over the whole (small) set, then paged.
        everything = store().list(org_id, offset=0, limit=10_000)
        needle = (search or "").casefold()
        matching = [
            c
            for c in everything
            if (credential_type is None or c.credential_type == credential_type)
            and (not needle or needle in " ".join([c.name, *(v or "" for v in c.shown.values())]).casefold())
        ]
        start = (page - 1) * page_size
        return [answer(c) for c in matching[start : start + page_size]]

    @router.get(
        "/v1/credentials/<credential_id>",
        summary="Get a credential",
        tags=["credentials"],
        operation_id="get_credential",
        responses=responses("The credential (no secret in it).", *AUTH_ERRORS, 404),
    )
    def get_credential(credential_id: str) -> CredentialResponse:
        return answer(own(credential_id))

    @router.post(
        "/v1/credentials/<credential_id>/update",
        summary="Update a credential",
        description="Replace a credential's name and values (its id stays).",
        tags=["credentials"],
        operation_id="update_credential",
        responses=responses(
            "The updated credential (no secret in it).",
            *BODY_ERRORS,
            *AUTH_ERRORS,
            404,
            409,
            overrides={409: "Another update of this credential was saved meanwhile; read it and retry."},
        ),
    )
    def update_credential(credential_id: str, body: CredentialCreate) -> CredentialResponse:
        current = own(credential_id)
        _check_shape(body)
        changed = StoredCredential(
            credential_id=credential_id,
            org_id=current.org_id,
            name=body.name,
            credential_type=body.credential_type,
            created_at=current.created_at,
            modified_at=services.clock.now(),
            sealed=sealed(credential_id, body),
            shown=_shown(body),
            tested_url=body.tested_url,
        )
        try:
            stored = store().replace(changed, expected_version=current.version)
        except SequenceConflictError:
            raise ConflictError("The credential was changed by another request meanwhile; retry.") from None
        return answer(stored)

    @router.post(
        "/v1/credentials/<credential_id>/delete",
        summary="Delete a credential",
        tags=["credentials"],
        operation_id="delete_credential",
        responses=responses("Deleted (no body).", *AUTH_ERRORS, 404, ok_status=204),
    )
    def delete_credential(credential_id: str) -> Response[None]:
        if not store().delete(caller(router).org_id, credential_id):
            raise NotFoundError(NOT_FOUND)
        return Response(status_code=204, body=None)

    return router
