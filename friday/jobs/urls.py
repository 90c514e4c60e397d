from django.urls import path

from friday.jobs import views

app_name = "jobs"
urlpatterns = [
    path("", views.job_list, name="list"),
    path("board/", views.job_board, name="board"),
    path("board/column/", views.board_column, name="board_column"),
    path("new/", views.job_create, name="create"),
    path("staff-rates/", views.staff_rates, name="staff_rates"),
    path("plans/", views.plans_due, name="plans_due"),
    path("<int:job_id>/", views.job_detail, name="detail"),
    path("<int:job_id>/edit/", views.job_edit, name="edit"),
    path("<int:job_id>/delete/", views.job_delete, name="delete"),
    path("<int:job_id>/move/", views.job_move, name="move"),
    path("<int:job_id>/costs/", views.cost_add, name="cost_add"),
    path("<int:job_id>/dependencies/", views.dependency_add, name="dependency_add"),
    path("costs/<int:cost_id>/delete/", views.cost_delete, name="cost_delete"),
    path("parties/<int:party_id>/costs/new/", views.party_cost_add, name="party_cost_add"),
    path("parties/<int:party_id>/assets/new/", views.asset_edit, name="asset_create"),
    path("parties/<int:party_id>/assets/<int:asset_id>/", views.asset_edit, name="asset_edit"),
    path("assets/<int:asset_id>/delete/", views.asset_delete, name="asset_delete"),
    path("parties/<int:party_id>/plans/new/", views.plan_edit, name="plan_create"),
    path("parties/<int:party_id>/plans/<int:plan_id>/", views.plan_edit, name="plan_edit"),
    path("plans/<int:plan_id>/delete/", views.plan_delete, name="plan_delete"),
]
