from django.urls import path

from friday.strategy import views

app_name = "strategy"
urlpatterns = [
    path("", views.index, name="index"),
    path("new/", views.goal_new, name="goal_new"),
    path("<int:goal_id>/", views.goal_detail, name="goal"),
    path("<int:goal_id>/edit/", views.goal_edit, name="goal_edit"),
    path("<int:goal_id>/active/", views.goal_active, name="goal_active"),
]
