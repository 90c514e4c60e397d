"""The glossary, process and lifecycle pages through Django's test client."""

from __future__ import annotations

from friday.processes.models import PartyStage, Process, Term
from friday.processes.templates import starter_text
from tests.conftest import make_person


def test_glossary_add_edit_and_refusals(cast, web_for):
    admin = web_for(cast.admin)
    r = admin.post("/glossary/", {"name": "Callout", "definition": ""})
    assert r.status_code == 422 and "Write the definition" in r.content.decode()
    r = admin.post(
        "/glossary/", {"name": "Callout", "definition": "A visit within 4 hours.", "examples": "Leak"}
    )
    assert r.status_code == 302
    term = Term.objects.get(name="Callout")
    page = web_for(cast.alice).get("/glossary/").content.decode()
    assert "A visit within 4 hours." in page and "Add a term" not in page
    r = admin.post(f"/glossary/{term.pk}/", {"name": "Callout", "definition": "Within two hours."})
    assert r.status_code == 302
    assert web_for(cast.alice).get(f"/glossary/{term.pk}/").status_code == 403


def test_starters_are_offered_and_install_with_a_flowchart(cast, web_for):
    admin = web_for(cast.admin)
    page = admin.get("/processes/").content.decode()
    assert page.count("Use this template") == 3
    r = admin.post("/processes/starters/lifecycle/")
    assert r.status_code == 302 and r["Location"] == "/processes/customer_lifecycle/"
    page = admin.get("/processes/customer_lifecycle/").content.decode()
    assert '<pre class="mermaid">flowchart LR' in page
    assert 'class="tip" role="tooltip">Someone who might need our services' in page
    page = admin.get("/processes/").content.decode()
    assert page.count("Use this template") == 2 and "You already have a customer lifecycle" not in page
    r = admin.get("/processes/customer_lifecycle/export.dot")
    assert r.content.decode().startswith('digraph "customer_lifecycle"')
    assert admin.get("/processes/customer_lifecycle/export.exe").status_code == 404
    assert 'id="not-installed"' not in admin.get("/processes/customer_lifecycle/").content.decode()
    # The job workflow installs like the others: jobs move through it.
    assert admin.post("/processes/starters/jobs/").status_code == 302
    page = admin.get("/processes/job_workflow/").content.decode()
    assert 'id="not-installed"' not in page


def test_editor_checks_live_saves_drafts_and_refuses_to_publish_errors(cast, web_for):
    admin = web_for(cast.admin)
    admin.post("/processes/starters/sales/")
    check = admin.post("/processes/check/", {"source": "process: x\nstages: ["}).content.decode()
    assert "does not read as a process" in check and "line " in check
    broken = (
        starter_text("sales")
        .replace("- {from: negotiating, to: won}\n", "")
        .replace("- {from: negotiating, to: lost}\n", "")
    )
    check = admin.post("/processes/check/", {"source": broken}).content.decode()
    assert "Not a process yet" in check and "can never leave it" in check and "flowchart LR" in check
    r = admin.post("/processes/sales_pipeline/edit/", {"source": broken, "action": "publish"})
    assert r.status_code == 422 and "can never leave it" in r.content.decode()
    process = Process.objects.get(key="sales_pipeline")
    assert process.current.number == 1 and process.draft == broken  # the draft was kept, nothing published
    # Half-written work that does not even read can be kept as a draft, but not published.
    unfinished = starter_text("sales") + "- {from: quoted, to:\n"
    r = admin.post("/processes/sales_pipeline/edit/", {"source": unfinished, "action": "save"})
    assert r.status_code == 302
    process.refresh_from_db()
    assert process.draft == unfinished and process.current.number == 1
    page = admin.get("/processes/sales_pipeline/edit/").content.decode()
    assert "Draft saved, unfinished" in page and "not valid YAML" in page
    r = admin.post("/processes/sales_pipeline/edit/", {"source": unfinished, "action": "publish"})
    assert r.status_code == 422 and Process.objects.get(key="sales_pipeline").current.number == 1
    fixed = starter_text("sales").replace("name: Quoted", "name: Quote sent")
    r = admin.post(
        "/processes/sales_pipeline/edit/", {"source": fixed, "action": "publish", "note": "Rename"}
    )
    assert r.status_code == 302
    process.refresh_from_db()
    assert process.current.number == 2 and process.current.note == "Rename" and process.draft == ""
    assert web_for(cast.alice).get("/processes/sales_pipeline/edit/").status_code == 403


def test_lifecycle_move_page_explains_refusals(lifecycle, cast, web_for):
    party = make_person(cast.alice)
    alice = web_for(cast.alice)
    page = alice.get(f"/parties/{party.pk}/").content.decode()
    assert "not in the lifecycle" in page
    assert alice.post(f"/lifecycle/{party.pk}/", {"to": "suspect"}).status_code == 302
    page = alice.get(f"/parties/{party.pk}/").content.decode()
    assert 'data-stage="suspect"' in page and "Someone who might need our services" in page
    r = alice.post(f"/lifecycle/{party.pk}/", {"to": "customer"})
    body = r.content.decode()
    assert r.status_code == 422 and 'id="refused"' in body and "Suspect → Customer is not a step" in body
    assert 'data-stage="prospect"' in body and 'data-stage="not_a_fit"' in body
    r = alice.post(f"/lifecycle/{party.pk}/", {"to": "prospect"})
    assert r.status_code == 422 and 'data-field="email_or_phone"' in r.content.decode()
    assert PartyStage.objects.get(party=party).stage == "suspect"
    listing = alice.get("/parties/").content.decode()
    assert 'data-stage="suspect"' in listing
    assert web_for(cast.bob).get(f"/lifecycle/{party.pk}/").status_code == 404


def test_move_page_shows_what_the_chosen_stage_needs_and_offers_overrides(lifecycle, cast, web_for):
    party = make_person(cast.alice)
    alice = web_for(cast.alice)
    page = alice.get(f"/lifecycle/{party.pk}/").content.decode()
    assert 'value="suspect" selected' in page  # the first allowed step is chosen
    alice.post(f"/lifecycle/{party.pk}/", {"to": "suspect"})
    # Choosing a stage (htmx GETs the page with ?to=) shows what it needs before any attempt.
    page = alice.get(f"/lifecycle/{party.pk}/?to=prospect").content.decode()
    assert 'data-field="email_or_phone" data-filled="no"' in page
    assert "an email address or a phone number" in page and "email_or_phone</" not in page
    assert f'href="/parties/{party.pk}/edit/?next=%2Flifecycle%2F{party.pk}%2F%3Fto%3Dprospect"' in page
    # A member sees only the declared steps; an admin may override and sees every other stage.
    assert "Other stages" not in page and 'value="customer"' not in page
    admin = web_for(cast.admin)
    page = admin.get(f"/lifecycle/{party.pk}/").content.decode()
    assert "Other stages (needs an override)" in page and 'value="customer"' in page
    page = admin.get(f"/lifecycle/{party.pk}/?to=customer").content.decode()
    assert 'id="not-declared"' in page and 'data-field="customer_since"' in page
    r = admin.post(
        f"/lifecycle/{party.pk}/", {"to": "customer", "override": "on", "reason": "Signed on the phone"}
    )
    assert r.status_code == 302 and PartyStage.objects.get(party=party).stage == "customer"


def test_editing_from_the_move_page_comes_back_to_it(lifecycle, cast, web_for):
    party = make_person(cast.alice)
    alice = web_for(cast.alice)
    back = f"/lifecycle/{party.pk}/?to=prospect"
    page = alice.get(f"/parties/{party.pk}/edit/", {"next": back}).content.decode()
    assert f'name="next" value="/lifecycle/{party.pk}/?to=prospect"' in page
    page = alice.get(f"/parties/{party.pk}/edit/", {"next": "https://evil.example/"}).content.decode()
    assert "evil.example" not in page


def test_a_lifecycle_stage_term_points_to_its_process(lifecycle, cast, web_for):
    from friday.processes.models import Term

    term = Term.objects.get(name="Prospect")
    admin = web_for(cast.admin)
    page = admin.get(f"/glossary/{term.pk}/").content.decode()
    assert 'id="owned"' in page and 'href="/processes/customer_lifecycle/edit/"' in page
    assert 'name="definition" rows="3" maxlength="2000" required readonly' in page
    r = admin.post(f"/glossary/{term.pk}/", {"name": "Prospect", "definition": "Anyone."})
    assert r.status_code == 422 and "its wording lives there" in r.content.decode()


def test_the_live_check_says_what_saving_would(lifecycle, cast, web_for):
    admin = web_for(cast.admin)
    other_key = starter_text("lifecycle").replace("process: customer_lifecycle", "process: renamed")
    check = admin.post(
        "/processes/check/", {"source": other_key, "for": "customer_lifecycle"}
    ).content.decode()
    assert "keep that key" in check and "Ready to publish" not in check
    check = admin.post("/processes/check/", {"source": other_key, "for": "new"}).content.decode()
    assert "There is already a customer lifecycle" in check
    assert (
        "Ready to publish"
        in admin.post("/processes/check/", {"source": starter_text("sales"), "for": "new"}).content.decode()
    )


def test_override_says_what_it_skipped(lifecycle, cast, web_for):
    party = make_person(cast.admin)
    admin = web_for(cast.admin)
    admin.post(f"/lifecycle/{party.pk}/", {"to": "suspect"})
    r = admin.post(f"/lifecycle/{party.pk}/", {"to": "customer"})  # not ticked: refused as undeclared
    assert r.status_code == 422 and 'id="refused"' in r.content.decode()
    r = admin.post(
        f"/lifecycle/{party.pk}/",
        {"to": "customer", "override": "on", "reason": "Signed by phone"},
        follow=True,
    )
    assert "Still missing: customer since." in r.content.decode()
