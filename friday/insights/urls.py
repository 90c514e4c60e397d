from django.urls import path

from friday.insights import views

app_name = "insights"
urlpatterns = [
    path("at-risk/", views.at_risk, name="at_risk"),
    path("corners/", views.four_corners, name="corners"),
    # Public: the link in a digest email (no sign-in; the signed token is the key).
    path("digest/unsubscribe/<str:token>/", views.digest_unsubscribe, name="digest_unsubscribe"),
    path("adoption/", views.adoption_page, name="adoption"),
    path("adoption/list/<str:signal>/", views.adoption_list, name="adoption_list"),
    path("adoption/staff.csv", views.best_staff_csv, name="best_staff_csv"),
    path("best/", views.best, name="best"),
    path("best/rfm/<slug:segment>/", views.best_segment, name="best_segment"),
]
