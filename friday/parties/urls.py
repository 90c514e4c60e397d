from django.urls import path

from friday.parties import views

app_name = "parties"
urlpatterns = [
    path("", views.party_list, name="list"),
    path("new/", views.party_create, name="create"),
    path("options/", views.party_options, name="options"),
    path("organisations/suggest/", views.organisation_suggest, name="org_suggest"),
    path("fields/", views.custom_fields, name="custom_fields"),
    path("<int:party_id>/", views.party_detail, name="detail"),
    path("<int:party_id>/edit/", views.party_edit, name="edit"),
    path("<int:party_id>/vcard/", views.party_vcard, name="vcard"),
    path("<int:party_id>/delete/", views.party_delete, name="delete"),
    path("<int:party_id>/timeline/", views.timeline_page, name="timeline"),
    path("<int:party_id>/activities/", views.activity_add, name="activity_add"),
    path("<int:party_id>/handover/", views.party_handover, name="handover"),
]
