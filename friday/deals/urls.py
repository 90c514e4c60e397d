from django.urls import path

from friday.deals import views

app_name = "deals"
urlpatterns = [
    path("", views.deal_list, name="list"),
    path("board/", views.deal_board, name="board"),
    path("board/column/", views.board_column, name="board_column"),
    path("new/", views.deal_create, name="create"),
    path("lost-reasons/", views.lost_reason_list, name="lost_reasons"),
    path("lost-reasons/<int:reason_id>/", views.lost_reason_edit, name="lost_reason_edit"),
    path("<int:deal_id>/", views.deal_detail, name="detail"),
    path("<int:deal_id>/edit/", views.deal_edit, name="edit"),
    path("<int:deal_id>/delete/", views.deal_delete, name="delete"),
    path("<int:deal_id>/move/", views.deal_move, name="move"),
]
