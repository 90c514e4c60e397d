from django.urls import path

from friday.imports import views

app_name = "imports"
urlpatterns = [
    path("", views.import_list, name="list"),
    path("upload/", views.import_upload, name="upload"),
    path("<int:job_id>/", views.import_detail, name="detail"),
    path("<int:job_id>/progress/", views.import_progress, name="progress"),
    path("<int:job_id>/configure/", views.import_configure, name="configure"),
    path("<int:job_id>/run/", views.import_run, name="run"),
    path("<int:job_id>/resume/", views.import_resume, name="resume"),
    path("<int:job_id>/undo/", views.import_undo, name="undo"),
    path("<int:job_id>/discard/", views.import_discard, name="discard"),
    path("<int:job_id>/failed-rows.csv", views.import_failures, name="failures"),
    path("<int:job_id>/mapping/save/", views.mapping_save, name="mapping_save"),
    path("<int:job_id>/mapping/apply/", views.mapping_apply, name="mapping_apply"),
    path("mappings/<int:mapping_id>/delete/", views.mapping_delete, name="mapping_delete"),
]
