from django.urls import path

from friday.duplicates import views

app_name = "duplicates"
urlpatterns = [
    path("", views.pair_list, name="list"),
    path("scan/", views.scan_now, name="scan"),
    path("merge/", views.merge, name="merge"),
    path("<int:pair_id>/dismiss/", views.pair_dismiss, name="dismiss"),
    path("<int:pair_id>/restore/", views.pair_restore, name="restore"),
]
