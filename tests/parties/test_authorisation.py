"""The authorisation matrix: another team's ids answer 404 everywhere and change nothing; read-only writes nothing."""

from __future__ import annotations

import pytest
from django_tasks_db.models import DBTaskResult

from friday.accounts.services import token_create
from friday.core.models import DomainEvent
from friday.parties.models import Activity, Address, EmailAddress, Party, Phone
from friday.parties.services import AddressIn
from tests.conftest import make_person

pytestmark = pytest.mark.django_db

# Every API operation on one party, with a body that would succeed for its owner.
API = [
    ("GET", "/parties/{pid}", None),
    ("PATCH", "/parties/{pid}", {"given_name": "Changed"}),
    ("DELETE", "/parties/{pid}", None),
    ("POST", "/parties/{pid}/handover", {"owner_id": "{owner}"}),
    ("GET", "/parties/{pid}/activities", None),
    ("POST", "/parties/{pid}/activities", {"kind": "note", "body": "hello"}),
    ("POST", "/parties/{pid}/emails", {"address": "new@example.com"}),
    ("DELETE", "/parties/{pid}/emails/{email}", None),
    ("POST", "/parties/{pid}/phones", {"number": "0161 496 0999"}),
    ("DELETE", "/parties/{pid}/phones/{phone}", None),
    ("DELETE", "/parties/{pid}/addresses/{address}", None),
]
PAGES = [
    ("GET", "/parties/{pid}/"),
    ("GET", "/parties/{pid}/edit/"),
    ("POST", "/parties/{pid}/edit/"),
    ("GET", "/parties/{pid}/delete/"),
    ("POST", "/parties/{pid}/delete/"),
    ("GET", "/parties/{pid}/timeline/"),
    ("POST", "/parties/{pid}/activities/"),
    ("POST", "/parties/{pid}/handover/"),
]


@pytest.fixture
def target(cast):
    """A Red-team record owned by alice, with one of each contact point."""
    party = make_person(
        cast.alice,
        emails=["ada@example.com"],
        phones=["0161 496 0001"],
        addresses=[AddressIn(line1="1 Lane")],
    )
    return party


def _ids(party: Party, cast) -> dict[str, int]:
    return {
        "pid": party.pk,
        "email": EmailAddress.objects.get(party=party).pk,
        "phone": Phone.objects.get(party=party).pk,
        "address": Address.objects.get(party=party).pk,
        "owner": cast.bob.pk,
    }


def _fill(template, ids):
    if isinstance(template, str):
        if template.startswith("{") and template.endswith("}") and template[1:-1] in ids:
            return ids[template[1:-1]]
        return template.format(**ids)
    if isinstance(template, dict):
        return {k: _fill(v, ids) for k, v in template.items()}
    return template


def _snapshot():
    return (
        list(Party.objects.order_by("pk").values()),
        Activity.objects.count(),
        DomainEvent.objects.count(),
        DBTaskResult.objects.count(),
        EmailAddress.objects.count(),
        Phone.objects.count(),
        Address.objects.count(),
    )


def test_the_matrix_covers_every_party_operation_in_the_openapi(client):
    spec = client.get("/api/v1/openapi.json").json()
    in_spec = {
        (
            method.upper(),
            path.removeprefix("/api/v1")
            .replace("{party_id}", "{pid}")
            .replace("{email_id}", "{email}")
            .replace("{phone_id}", "{phone}")
            .replace("{address_id}", "{address}"),
        )
        for path, ops in spec["paths"].items()
        if "{party_id}" in path
        for method in ops
    }
    assert in_spec == {(m, p) for m, p, _ in API}


@pytest.mark.parametrize(("method", "path", "body"), API)
@pytest.mark.parametrize("who", ["bob", "olga"])
def test_api_answers_404_for_records_outside_the_scope(cast, target, method, path, body, who):
    # bob is in another team; olga is in alice's team but sees only her own records.
    user = getattr(cast, who)
    _, token = token_create(user=user)
    ids = _ids(target, cast)
    before = _snapshot()
    response = _call_api(method, _fill(path, ids), _fill(body, ids), token)
    assert response.status_code == 404, (response.status_code, response.content)
    assert response.json()["code"].endswith("not_found")
    assert _snapshot() == before


@pytest.mark.parametrize(("method", "path", "body"), [op for op in API if op[0] != "GET"])
def test_api_read_only_user_cannot_write(cast, target, method, path, body):
    _, token = token_create(user=cast.reader)  # same team as the record: may see it, not change it
    ids = _ids(target, cast)
    before = _snapshot()
    response = _call_api(method, _fill(path, ids), _fill(body, ids), token)
    assert response.status_code == 403, response.content
    assert response.json()["code"] == "permission.read_only"
    assert _snapshot() == before


def test_read_only_user_can_read_and_cannot_create(cast, target, api_for):
    api = api_for(cast.reader)
    assert api.get(f"/parties/{target.pk}").status_code == 200
    response = api.post("/parties", {"kind": "person", "given_name": "X"})
    assert response.status_code == 403 and Party.objects.count() == 1


def test_lists_and_search_show_only_the_scope(cast, target, api_for):
    make_person(cast.bob, "Blue", "Person")
    make_person(cast.olga, "Olga", "Own")

    def names(user, **params):
        return sorted(p["display_name"] for p in api_for(user).get("/parties", **params).json()["items"])

    assert names(cast.alice) == ["Ada Lovelace", "Olga Own"]  # team Red
    assert names(cast.olga) == ["Olga Own"]  # own only
    assert names(cast.bob) == ["Blue Person"]
    assert names(cast.bob, q="lovelace") == []
    assert names(cast.manager) == ["Ada Lovelace", "Blue Person", "Olga Own"]


def test_affiliation_to_an_invisible_organisation_is_404_with_its_field(cast, api_for):
    from tests.conftest import make_org

    org = make_org(cast.bob, "Blue Org")
    response = api_for(cast.alice).post(
        "/parties", {"kind": "person", "given_name": "X", "affiliations": [{"organisation_id": org.pk}]}
    )
    assert response.status_code == 404 and response.json()["field"] == "affiliations.0.organisation_id"
    assert Party.objects.filter(display_name="X").count() == 0


@pytest.mark.parametrize(("method", "path"), PAGES)
def test_pages_answer_404_for_records_outside_the_scope(cast, target, web_for, method, path):
    client = web_for(cast.bob)
    before = _snapshot()
    url = _fill(path, _ids(target, cast))
    data = {"given_name": "X", "kind": "person", "body": "x", "owner": cast.bob.pk}
    response = client.get(url) if method == "GET" else client.post(url, data)
    assert response.status_code == 404
    assert _snapshot() == before


@pytest.mark.parametrize(
    ("method", "path"), [p for p in PAGES if p[0] == "POST"] + [("GET", "/parties/{pid}/edit/")]
)
def test_pages_refuse_read_only_writes(cast, target, web_for, method, path):
    client = web_for(cast.reader)
    before = _snapshot()
    url = _fill(path, _ids(target, cast))
    data = {"given_name": "X", "kind": "person", "body": "x", "owner": cast.reader.pk}
    response = client.get(url) if method == "GET" else client.post(url, data)
    assert response.status_code == 403
    assert _snapshot() == before


def test_admin_pages_are_for_admins_only(cast, web_for):
    for user in (cast.manager, cast.alice, cast.reader):
        client = web_for(user)
        assert client.get("/settings/users/").status_code == 403
        assert client.post("/settings/users/new/", {"username": "x"}).status_code == 403
        assert client.post("/settings/teams/new/", {"name": "Hackers"}).status_code == 403
    assert web_for(cast.admin).get("/settings/users/").status_code == 200


def test_another_users_token_cannot_be_revoked(cast, web_for):
    token, _ = token_create(user=cast.alice)
    response = web_for(cast.bob).post(f"/settings/tokens/{token.pk}/revoke/")
    assert response.status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def _call_api(method, path, body, token):
    import json

    from django.test import Client

    client = Client()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    if method == "GET":
        return client.get(f"/api/v1{path}", **headers)
    fn = getattr(client, method.lower())
    return fn(f"/api/v1{path}", data=json.dumps(body or {}), content_type="application/json", **headers)
