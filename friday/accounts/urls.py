from django.urls import path

from friday.accounts import views

app_name = "accounts"
urlpatterns = [
    path("users/", views.user_list, name="users"),
    path("users/new/", views.user_create, name="user_create"),
    path("users/<int:user_id>/", views.user_edit, name="user_edit"),
    path("teams/new/", views.team_create, name="team_create"),
    path("tokens/", views.token_list, name="tokens"),
    path("tokens/<int:token_id>/revoke/", views.token_revoke, name="token_revoke"),
    path("preferences/", views.preferences, name="preferences"),
    path("password/", views.PasswordChangeView.as_view(), name="password_change"),
]
