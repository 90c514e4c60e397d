from django.urls import path

from friday.insights import views

app_name = "insights"
urlpatterns = [
    path("at-risk/", views.at_risk, name="at_risk"),
    path("corners/", views.four_corners, name="corners"),
    path("best/", views.best, name="best"),
    path("best/rfm/<slug:segment>/", views.best_segment, name="best_segment"),
]
