from django.urls import path

from friday.reminders import views

app_name = "reminders"
urlpatterns = [
    path("", views.my_reminders, name="mine"),
    path("all/", views.reminder_list, name="list"),
    path("new/", views.reminder_create, name="create"),
    path("calendar/", views.calendar_settings, name="calendar"),
    path("feed/<str:token>.ics", views.calendar_feed, name="feed"),
    path("<int:reminder_id>/", views.reminder_detail, name="detail"),
    path("<int:reminder_id>/<str:action>/", views.reminder_action, name="action"),
]
